"""The secrets step: random per-install passwords, kept as files in the ``secrets`` volume.

Runs first on every ``up`` (compose service ``secrets``, as root, with CHOWN only):
each password is created once, then left as it is. The services read them through
``*_FILE`` variables, so no password is ever in a container's environment
(``docker inspect``), an image, or the repository.

Each file (mode 0440) is readable by the services that need it and by nobody else:
its owner is the one service that logs in with it (root for postgres_password, read by
the db's entrypoint; the migrator's uid for owner_db_password; the api's uid for
api_db_password), and its group is that password's own readers' group, which the roles
step has for all three and the development migrator for the owner's alone.

``import`` sets passwords from ``NAME=value`` lines on standard input instead (moving
an older ``.env``'s passwords in, or rotating one): never through the environment.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from migrator.image_users import (
    API_PASSWORD_GID,
    API_UID,
    MIGRATOR_UID,
    OWNER_PASSWORD_GID,
    SUPERUSER_PASSWORD_GID,
)
from migrator.settings import SECRETS_SETTINGS
from shared_models.startup import start

log = logging.getLogger("migrator.secrets")

SECRETS_DIR = Path("/run/secrets")


@dataclass(frozen=True)
class Secret:
    file: str
    variable: str  # the setting it holds (read from <variable>_FILE)
    owner_uid: int
    reader_gid: int


SECRETS = (
    Secret("postgres_password", "POSTGRES_PASSWORD", 0, SUPERUSER_PASSWORD_GID),
    Secret("owner_db_password", "OWNER_DB_PASSWORD", MIGRATOR_UID, OWNER_PASSWORD_GID),
    Secret("api_db_password", "API_DB_PASSWORD", API_UID, API_PASSWORD_GID),
)


def write(path: Path, value: str, secret: Secret) -> None:
    """Atomically, readable by its owner and its readers' group only."""
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(value)
    temporary.chmod(0o440)
    os.chown(temporary, secret.owner_uid, secret.reader_gid)
    temporary.replace(path)


def read_assignments(stream: TextIO) -> dict[str, str]:
    """The passwords among ``NAME=value`` lines (an env file may be piped whole)."""
    known = {secret.variable for secret in SECRETS}
    values = {}
    for line in stream:
        name, sep, value = line.strip().partition("=")
        value = value.strip().strip("'\"")
        if sep and value and name.strip() in known:
            values[name.strip()] = value
    return values


def ensure(directory: Path, given: dict[str, str]) -> list[str]:
    """Create missing passwords (or set the given ones); fix every file's ownership."""
    directory.mkdir(exist_ok=True)
    # The names are no secret; each file's mode guards its value.
    directory.chmod(0o755)
    done = []
    for secret in SECRETS:
        path = directory / secret.file
        if secret.variable in given:
            write(path, given[secret.variable], secret)
            done.append(f"set {secret.file} from {secret.variable}")
        elif not path.exists():
            write(path, secrets.token_urlsafe(32), secret)
            done.append(f"created {secret.file}")
        else:
            path.chmod(0o440)
            os.chown(path, secret.owner_uid, secret.reader_gid)
    return done


def main(argv: list[str]) -> int:
    start("secrets", SECRETS_SETTINGS)
    if argv not in ([], ["import"]):
        log.error("usage: python -m migrator.steps.secrets [import < NAME=value lines]")
        return 2
    given = read_assignments(sys.stdin) if argv == ["import"] else {}
    if argv == ["import"] and not given:
        names = ", ".join(secret.variable for secret in SECRETS)
        log.error("no %s line with a value on standard input", names)
        return 2
    for line in ensure(SECRETS_DIR, given) or ["every password is in place"]:
        log.info("%s", line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
