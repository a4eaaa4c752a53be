"""docs/schema-changes.md's loop, walked on a copy of the checkout with the development
stack `make up` gives: the model and schema edits it shows, `make revision`, `make plan`,
`make migrate`, a user written and read with the new field, `make check`, and
`make downgrade`; and a NOT NULL column over today's rows stopped by the plan."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.paths import ROOT
from tests.api.factories import bearer, log_in, user_body
from tests.docs.runners import DEVELOPMENT_FILES, Target
from tests.support.docker import with_docker_or_skip

pytestmark = pytest.mark.e2e

MODEL_LINE = 'location: Mapped[str | None] = mapped_column(Text, info={"max_length": 80})'


def copy_of_the_checkout() -> Path:
    """The tracked files as they are in the working tree, in a folder of their own."""
    copy = Path(tempfile.mkdtemp(prefix="walkthrough-"))
    listed = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def add_location(copy: Path) -> None:
    """The edits the page shows."""
    model = copy / "shared/models/src/shared_models/user.py"
    edit(model, "from sqlalchemy import BigInteger,", "from sqlalchemy import BigInteger, Text,")
    edit(model, "    bio: Mapped[str | None]", f"    {MODEL_LINE}\n    bio: Mapped[str | None]")
    schemas = copy / "services/api/src/api/users/schemas.py"
    edit(
        schemas,
        "\n\nclass UserCreate(Input):",
        "\nLocation = Annotated[str, StringConstraints(max_length=80, pattern=NO_NUL)]"
        "\n\n\nclass UserCreate(Input):",
    )
    field = "    location: Location | None = None\n"
    edit(schemas, "    bio: Bio | None = None\n", "    bio: Bio | None = None\n" + field)
    edit(schemas, '{"bio"})', '{"bio", "location"})')
    bio_update = "    bio: Bio | None = None  # null clears the bio\n"
    edit(schemas, bio_update, bio_update + field)
    edit(schemas, "    bio: str | None\n", "    bio: str | None\n    location: str | None\n")


@pytest.fixture(scope="module")
def walked() -> Iterator[tuple[Path, Target]]:
    with_docker_or_skip()
    copy = copy_of_the_checkout()
    target = Target.fresh()
    target.files = tuple(copy / path.name for path in DEVELOPMENT_FILES)
    try:
        yield copy, target
    finally:
        subprocess.run(
            ["docker", "compose", "down", "-v", "--rmi", "local", "--remove-orphans"],
            cwd=copy, env=target.environment(), capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(copy, ignore_errors=True)


def make(copy: Path, target: Target, *args: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", *args], cwd=copy, env=target.environment(),
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make {' '.join(args)}:\n{output[-4000:]}"
    return output


def test_the_loop_of_the_page(walked: tuple[Path, Target]) -> None:
    copy, target = walked
    make(copy, target, "up")
    add_location(copy)
    make(copy, target, "revision", "m=add user location")
    [revision] = (copy / "services/migrator/migrations/versions").glob("*_add_user_location.py")
    assert re.search(r"op\.add_column\(\s*\"users\"", revision.read_text())
    assert "Verdict: safe" in make(copy, target, "plan")
    make(copy, target, "migrate")
    assert "No new upgrade operations detected" in make(copy, target, "check")
    with httpx.Client(base_url=f"http://127.0.0.1:{target.port}", timeout=30) as client:
        # The development api reloads on the edits; the door sends it traffic once ready.
        body = user_body(username="walker", email="walker@example.com", location="Lyon")
        created = client.post("/users", json=body)
        assert created.status_code == 201, created.text
        user = created.json()
        assert user["location"] == "Lyon"
        changed = client.patch(
            f"/users/{user['id']}",
            json={"location": "Turin"},
            headers=bearer(log_in(client, "walker")),
        )
        assert changed.json()["location"] == "Turin"
        assert client.get(f"/users/{user['id']}").json()["location"] == "Turin"
    assert "Running downgrade" in make(copy, target, "downgrade")


def test_a_not_null_column_over_todays_rows_is_stopped_by_the_plan(
    walked: tuple[Path, Target],
) -> None:
    """After the loop: a user exists, and a revision adds a required column to users."""
    copy, target = walked
    make(copy, target, "migrate")
    versions = copy / "services/migrator/migrations/versions"
    [head] = versions.glob("*_add_user_location.py")
    head_id = re.search(r'^revision(?:: str)? = "(\w+)"', head.read_text(), re.M)
    assert head_id is not None
    (versions / "29990101_0000_f00d00000002_add_user_slug.py").write_text(
        '"""add user slug"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "f00d00000002"\ndown_revision = "{head_id[1]}"\n'
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n"
        '    op.add_column("users", sa.Column("slug", sa.Text(), nullable=False))\n\n\n'
        "def downgrade() -> None:\n"
        '    op.drop_column("users", "slug")\n'
    )
    plan = subprocess.run(
        ["make", "--no-print-directory", "plan"], cwd=copy, env=target.environment(),
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert plan.returncode != 0
    assert "Verdict: fails" in plan.stdout
    assert "users.slug NOT NULL" in plan.stdout
    migrate = subprocess.run(
        ["make", "--no-print-directory", "migrate"], cwd=copy, env=target.environment(),
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert migrate.returncode != 0
    assert "the plan says stop" in migrate.stderr
    current = make(copy, target, "current")
    assert head_id[1] in current
    assert "f00d00000002" not in current
