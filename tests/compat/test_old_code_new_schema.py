"""Expand and contract, enforced: the API as it was before the newest revision (the code
of the commit before that revision was added, built into its own image) is started
against a database at the new head, and a stable contract smoke suite must pass.

During a deploy the old API serves while the migrator runs, and after a rollback of the
image the new schema meets the old code: a revision must work with the code before it.
A deliberately bad revision (renaming a column the code reads) shows the check fails.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from harness.paths import ROOT
from harness.postgres import free_port
from harness.processes import alembic, running_api, wait_for_http
from harness.revisions import REVISIONS
from harness.roles import as_api_role
from tests.compat.smoke import contract_smoke
from tests.support.docker import with_docker_or_skip
from tests.support.scratch_migrations import ScratchMigrations

pytestmark = pytest.mark.compat


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit_before(path: Path) -> str:
    """The commit just before ``path`` was first added to the repository."""
    added = git("log", "--diff-filter=A", "--format=%H", "--", str(path.relative_to(ROOT)))
    if not added:
        pytest.fail(f"{path.name} is not committed: commit it, then run the check")
    first_added = added.splitlines()[-1]
    if git("rev-list", "--max-parents=0", "HEAD") == first_added:
        pytest.skip("the newest revision came with the first commit: no code before it")
    return git("rev-parse", f"{first_added}^")


# The digest of a package's Python sources: (relative path, bytes) of every .py file, sorted.
DIGEST = """
import hashlib, pathlib, sys
root = pathlib.Path(sys.argv[1])
digest = hashlib.sha256()
for path in sorted(root.rglob("*.py")):
    digest.update(str(path.relative_to(root)).encode() + b"\\0" + path.read_bytes() + b"\\0")
print(digest.hexdigest())
"""


def api_sources_digest(image: str) -> str:
    """The digest of the api package installed in ``image``."""
    return subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", image, "-c",
         'python -c "$0" "$(python -c "import api, os; print(os.path.dirname(api.__file__))")"',
         DIGEST],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def commit_sources_digest(commit: str, package: str = "services/api/src/api") -> str:
    """The same digest, of the package as git holds it at ``commit``."""
    digest = hashlib.sha256()
    for path in sorted(git("ls-tree", "-r", "--name-only", commit, package).splitlines()):
        if path.endswith(".py"):
            content = subprocess.run(
                ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, check=True
            ).stdout
            relative = path.removeprefix(package + "/")
            digest.update(relative.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class OldApi:
    image: str
    commit: str


@pytest.fixture(scope="module")
def code_before_newest_revision(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OldApi]:
    """The api image of the commit before the newest revision was added."""
    with_docker_or_skip()
    if git("rev-parse", "--is-shallow-repository") == "true":
        pytest.fail("the check needs the history: fetch it (git fetch --unshallow)")
    commit = commit_before(Path(REVISIONS[-1].path))
    tree = tmp_path_factory.mktemp("code-before")
    archive = tree / "code.tar"
    subprocess.run(["git", "archive", "--output", str(archive), commit], cwd=ROOT, check=True)
    with tarfile.open(archive) as code:
        code.extractall(tree / "src", filter="data")
    # Built the way users build it: compose (its BuildKit builder), from that commit's files.
    project = f"compat-{commit[:12]}"
    subprocess.run(
        ["docker", "compose", "-p", project, "-f", "compose.yaml", "build", "--quiet", "api"],
        cwd=tree / "src", check=True, capture_output=True,
        # Older compose files insist on passwords just to render; a build never uses them.
        env={**os.environ, "POSTGRES_PASSWORD": "build", "API_DB_PASSWORD": "build"},
    )  # fmt: skip
    image = f"{project}-api"
    yield OldApi(image, commit)
    subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)


def test_the_image_holds_the_code_of_the_commit_before_the_newest_revision(
    code_before_newest_revision: OldApi,
) -> None:
    old = code_before_newest_revision
    built = api_sources_digest(old.image)
    assert built == commit_sources_digest(old.commit), f"the image is not {old.commit}'s code"


def test_the_code_before_the_newest_revision_passes_at_the_new_head(
    code_before_newest_revision: OldApi, migrated_database: URL
) -> None:
    port = free_port()
    name = f"compat-{secrets.token_hex(4)}"
    database_url = as_api_role(migrated_database).set(drivername="postgresql")
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "--network", "host",
         "-e", f"DATABASE_URL={database_url.render_as_string(hide_password=False)}",
         "-e", f"GUNICORN_BIND=127.0.0.1:{port}", "-e", "WEB_CONCURRENCY=1",
         code_before_newest_revision.image],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        started = time.monotonic()
        wait_for_http(f"http://127.0.0.1:{port}/healthz", deadline_seconds=60)
        failures = contract_smoke(f"http://127.0.0.1:{port}")
    finally:
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    print(f"\nthe api of {code_before_newest_revision.commit} at head: ready in "
          f"{time.monotonic() - started:.1f}s, {len(failures)} failures")  # fmt: skip
    assert not failures, "\n".join(failures) + "\n--- its log ---\n" + logs[-3000:]


def test_a_revision_that_breaks_the_code_before_it_is_caught(
    migrated_database: URL, tmp_path: Path
) -> None:
    # The code before this test-only revision is the working tree's.
    scratch = ScratchMigrations(tmp_path)
    scratch.add_revision(
        "ebadbadbad01",
        "op.alter_column('users', 'bio', new_column_name='about')",
        "op.alter_column('users', 'about', new_column_name='bio')",
    )
    alembic(migrated_database, "upgrade", "head", ini=scratch.ini)
    with running_api(migrated_database, tmp_path) as api:
        failures = contract_smoke(api.base_url)
    assert failures, "renaming a column the code reads must fail the check"
    assert any("answered 503" in failure for failure in failures), failures
