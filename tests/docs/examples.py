"""The fenced blocks of README.md and docs/*.md, and how each says it is run.

Every block is preceded by an HTML comment: ``<!-- run: RUNNER ... -->`` or
``<!-- not run: why -->`` (docs/testing.md lists the runners). In a block of commands,
``# => text`` after a command means its output contains ``text``; other comments are
for the reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.paths import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNERS = ("stack", "fresh", "client", "promql", "ci", "tree")

FENCE = re.compile(r"^```(\w*)\s*$")
ANNOTATION = re.compile(r"^<!-- (?:run: (?P<runner>\w+)(?P<rest>.*?)|not run: (?P<why>.+?)) -->$")
EXPECTED = re.compile(r"\s+# => (?P<text>.*)$")
COMMENT = re.compile(r"(^|\s+)#(\s.*)?$")
EXCEPT = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    runner: str | None  # None: not run (why says so), or not annotated at all
    why: str | None
    exceptions: tuple[str, ...]  # commands of the block a runner leaves out, with the reason

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    found = []
    lines = page.read_text().splitlines()
    number = 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        if not opening:
            number += 1
            continue
        end = next(i for i in range(number + 1, len(lines)) if lines[i].startswith("```"))
        above = lines[number - 1] if number else ""
        annotation = ANNOTATION.match(above)
        runner = annotation["runner"] if annotation else None
        rest = annotation["rest"] if annotation and annotation["rest"] else ""
        exceptions = tuple(EXCEPT.findall(rest)) if "except" in rest else ()
        found.append(
            Block(
                page, number + 1, opening[1], "\n".join(lines[number + 1 : end]), runner,
                annotation["why"] if annotation else None, exceptions,
            )
        )  # fmt: skip
        number = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for page in PAGES for block in blocks(page)]


@dataclass(frozen=True)
class Command:
    text: str
    expected: str | None


def commands(block: Block) -> list[Command]:
    """The block's shell commands, continuation lines joined, comments taken off."""
    joined: list[str] = []
    pending = ""
    for line in block.text.splitlines():
        if pending:
            line = pending + " " + line.strip()
            pending = ""
        stripped = COMMENT.sub("", line) if not EXPECTED.search(line) else line
        if stripped.rstrip().endswith("\\"):
            pending = stripped.rstrip()[:-1].rstrip()
            continue
        joined.append(line)
    found = []
    for line in joined:
        expected = EXPECTED.search(line)
        command = COMMENT.sub("", line[: expected.start()] if expected else line).strip()
        if command and command not in block.exceptions:
            found.append(Command(command, expected["text"].strip() if expected else None))
    return found


def expectations(block: Block) -> list[str]:
    """The ``# => text`` of every line of the block, in order."""
    return [
        match["text"].strip()
        for line in block.text.splitlines()
        if (match := EXPECTED.search(line))
    ]
