"""The secrets step (compose service ``secrets``, as root with CHOWN and FOWNER): a random
password per role, made once, kept as a file in the ``secrets`` volume that services read
through ``*_FILE``, never the environment; each file (0440) belongs to the one service
that logs in with it, its group that password's readers'. ``import`` sets passwords from
``NAME=value`` lines on standard input (an older .env's, a rotation). The api's token
signing keys (``rotate-token-key`` adds a newer one). The proxy's certificate, when the
operator gives none: steps.certificate (``renew-certificate``).
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
    EXPORTER_PASSWORD_GID,
    EXPORTER_UID,
    MIGRATOR_UID,
    OWNER_PASSWORD_GID,
    SUPERUSER_PASSWORD_GID,
)
from migrator.settings import SECRETS_SETTINGS
from migrator.steps.certificate import TLS_DIR, ensure_certificate
from shared_models.settings import PublicHosts
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
    Secret("exporter_db_password", "EXPORTER_DB_PASSWORD", EXPORTER_UID, EXPORTER_PASSWORD_GID),
)


def write(path: Path, value: str, secret: Secret) -> None:
    """Atomically, readable by its owner and its readers' group only."""
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(value)
    temporary.chmod(0o440)
    os.chown(temporary, secret.owner_uid, secret.reader_gid)
    temporary.replace(path)


# The api's token signing keys, one ``<kid> <key>`` per line, newest first (api.accounts.tokens):
# the newest signs, all are accepted. A rotation keeps the one before it, whose tokens
# live at most TOKEN_MINUTES more; rotate no more often than that.
TOKEN_KEYS = Secret("token_signing_keys", "TOKEN_KEYS", API_UID, API_PASSWORD_GID)
KEPT_KEYS = 2


def new_key_line() -> str:
    # 256 random bits, HS256's key size (RFC 7518, 3.2); the kid only names the key.
    return f"{secrets.token_hex(8)} {secrets.token_urlsafe(32)}"


def ensure_token_keys(directory: Path, rotate: bool = False) -> str:
    path = directory / TOKEN_KEYS.file
    if path.exists() and not rotate:
        path.chmod(0o440)
        os.chown(path, TOKEN_KEYS.owner_uid, TOKEN_KEYS.reader_gid)
        return ""
    lines = []
    if path.exists():
        # The api's file (0440) is unreadable to this step's root, which has CHOWN but
        # no DAC_OVERRIDE: taken back to read it; the rewrite below gives it back.
        os.chown(path, 0, 0)
        lines = [line for line in path.read_text().splitlines() if line.strip()]
    newest = new_key_line()
    write(path, "\n".join([newest, *lines[: KEPT_KEYS - 1]]) + "\n", TOKEN_KEYS)
    kept = min(len(lines), KEPT_KEYS - 1)
    verb = "rotated" if lines else "created"
    return f"{verb} {TOKEN_KEYS.file}: new key {newest.split(' ', 1)[0]}, {kept} kept"


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


USAGE = (
    "usage: python -m migrator.steps.secrets "
    "[import < NAME=value lines | renew-certificate | rotate-token-key]"
)


def main(argv: list[str]) -> int:
    settings = start("secrets", SECRETS_SETTINGS)
    hosts = settings[PublicHosts].public_host_names
    if argv == ["renew-certificate"]:
        log.info("%s", ensure_certificate(TLS_DIR, hosts, renew=True))
        return 0
    if argv == ["rotate-token-key"]:
        SECRETS_DIR.mkdir(exist_ok=True)
        log.info("%s", ensure_token_keys(SECRETS_DIR, rotate=True))
        return 0
    if argv not in ([], ["import"]):
        log.error("%s", USAGE)
        return 2
    given = read_assignments(sys.stdin) if argv == ["import"] else {}
    if argv == ["import"] and not given:
        names = ", ".join(secret.variable for secret in SECRETS)
        log.error("no %s line with a value on standard input", names)
        return 2
    for line in ensure(SECRETS_DIR, given) or ["every password is in place"]:
        log.info("%s", line)
    if made := ensure_token_keys(SECRETS_DIR):
        log.info("%s", made)
    if TLS_DIR.is_dir():  # the proxy's certificate's volume (or the operator's TLS_DIR)
        log.info("%s", ensure_certificate(TLS_DIR, hosts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
