"""Expand and contract, enforced: the API as it was before the newest revision (the code
of the commit before that revision was added, built into its own image) is started
against a database at the new head, and a stable contract smoke suite must pass.

During a deploy the old API serves while the migrator runs, and after a rollback of the
image the new schema meets the old code: a revision must work with the code before it.
A deliberately bad revision (renaming a column the code reads) shows the check fails.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from harness.paths import ROOT
from harness.processes import alembic, running_api
from harness.revisions import REVISIONS
from tests.compat.releases import (
    OldApi,
    build_api_image,
    commit_before,
    git,
    remove_image,
    running_old_api,
)
from tests.compat.smoke import contract_smoke
from tests.support.scratch_migrations import ScratchMigrations

pytestmark = pytest.mark.compat


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


@pytest.fixture(scope="module")
def code_before_newest_revision(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OldApi]:
    """The api image of the commit before the newest revision was added."""
    commit = commit_before(Path(REVISIONS[-1].path))
    api = build_api_image(commit, tmp_path_factory.mktemp("code-before"))
    yield api
    remove_image(api)


def test_the_image_holds_the_code_of_the_commit_before_the_newest_revision(
    code_before_newest_revision: OldApi,
) -> None:
    old = code_before_newest_revision
    built = api_sources_digest(old.image)
    assert built == commit_sources_digest(old.commit), f"the image is not {old.commit}'s code"


def test_the_code_before_the_newest_revision_passes_at_the_new_head(
    code_before_newest_revision: OldApi, migrated_database: URL
) -> None:
    with running_old_api(code_before_newest_revision, migrated_database) as api:
        failures = contract_smoke(api.base_url)
        ready = time.monotonic() - api.started
    print(f"\nthe api of {code_before_newest_revision.commit} at head: ready in "
          f"{ready:.1f}s, {len(failures)} failures")  # fmt: skip
    assert not failures, "\n".join(failures) + "\n--- its log ---\n" + api.logs[-3000:]


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
