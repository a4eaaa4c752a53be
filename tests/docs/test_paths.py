"""Every path of this repository that a page, a comment or a configuration file names
exists, and every relative link of a page leads somewhere: a file that moves cannot
leave a reference behind. Paths made at run time are the ones git ignores."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness.paths import ROOT

FOLDERS = ("services", "shared", "tests", "deploy", "docs", "tools", "harness", "bench", ".ci")
NAMED = re.compile(rf"(?<![\w/.$-])((?:{'|'.join(map(re.escape, FOLDERS))})/[\w./-]*\w)")
LINK = re.compile(r"\]\((?!https?:|#|mailto:)([^)#\s]+)")
# docs/development.md's "Adding a resource": what a reader would make, not what exists.
EXAMPLES = {
    "services/api/src/api/comments",
    "shared/models/src/shared_models/comment.py",
    "tests/api/comments/test_routes.py",
}


def tracked() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    # A test's strings are its inputs (a secret file of a test's own), not references.
    return [
        ROOT / name
        for name in listed
        if name != "uv.lock" and not (name.startswith("tests/") and name.endswith(".py"))
    ]


def ignored(paths: set[str]) -> set[str]:
    """Of ``paths``, those git ignores: made when something runs (results, secrets)."""
    # A folder's pattern ("results/") matches only a name that ends like a folder.
    asked = [*paths, *(f"{path}/" for path in paths)]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(asked),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return {path.rstrip("/") for path in result.stdout.split()}


def named_paths() -> dict[str, set[str]]:
    """Every path named anywhere, and where."""
    found: dict[str, set[str]] = {}
    for path in tracked():
        try:
            text = path.read_text()
        except (UnicodeDecodeError, IsADirectoryError):
            continue
        for match in NAMED.finditer(text):
            name = match[1].rstrip(".")
            if not set(name) & set("*<>{}"):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_path_a_file_names_exists() -> None:
    found = named_paths()
    assert len(found) > 50, "the scan found almost nothing: is NAMED still right?"
    missing = {name for name in found if not (ROOT / name).exists()} - EXAMPLES
    missing -= ignored(missing)
    assert not missing, "\n".join(f"{name}: named in {sorted(found[name])}" for name in missing)


PAGES = sorted(path for path in tracked() if path.suffix == ".md")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_link_of_a_page_leads_somewhere(page: Path) -> None:
    broken = [link for link in LINK.findall(page.read_text()) if not (page.parent / link).exists()]
    assert not broken
