"""Running the pages' blocks as the reader would: commands in bash from the repository's
root, against a compose project of the test's own, which `docker compose` and `make`
find through Compose's variables, never a developer's `.env`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness.compose import ComposeProject
from harness.paths import ROOT
from harness.postgres import free_port
from harness.processes import load_limits, service_env
from tests.docs.examples import Block, commands, expectations

CLIENT_FOLDER = ROOT / "users-and-posts-api-client"
DEVELOPMENT_FILES = (ROOT / "compose.yaml", ROOT / "compose.override.yaml")
PRODUCTION_FILES = (ROOT / "compose.yaml",)


@dataclass
class Target:
    """Where a block's commands go: a compose project, and the address of its api."""

    project: str
    files: tuple[Path, ...]
    port: int
    env_file: Path
    # The other published ports: fixed for the project's life, or every command would
    # change the services' configuration (and compose recreate them).
    tls_port: int = field(default_factory=free_port)
    db_port: int = field(default_factory=free_port)
    debug_port: int = field(default_factory=free_port)
    tls_dir: Path | None = None  # the tests' certificate; None: the secrets step makes one
    created: list[Path] = field(default_factory=list)

    @classmethod
    def of(cls, stack: ComposeProject) -> Target:
        return cls(
            stack.project,
            tuple(ROOT / file for file in stack.files),
            stack.port,
            stack.env_file,
            tls_port=stack.tls_port,
            db_port=int(stack.env["DB_PORT"]),
            debug_port=int(stack.env["API_DEBUG_PORT"]),
            tls_dir=stack.tls_dir,
        )

    @classmethod
    def fresh(cls) -> Target:
        env_file = Path(tempfile.mkdtemp(prefix="docs-fresh-")) / ".env"
        env_file.write_text("")
        project = f"docs-{os.urandom(4).hex()}"
        return cls(project, DEVELOPMENT_FILES, free_port(), env_file)

    def environment(self) -> dict[str, str]:
        return service_env(
            None,
            COMPOSE_PROJECT_NAME=self.project,
            COMPOSE_FILE=os.pathsep.join(str(path) for path in self.files),
            # Compose's and the Makefile's env files: an empty one, never the checkout's.
            COMPOSE_ENV_FILES=str(self.env_file),
            ENV_FILE=str(self.env_file),
            API_PORT=str(self.port),
            DB_PORT=str(self.db_port),
            API_DEBUG_PORT=str(self.debug_port),
            API_TLS_PORT=str(self.tls_port),
            TLS_DIR=str(self.tls_dir or ""),
            # A test's load is not a person's (harness.processes): every command here,
            # `make up` and `make release` included, keeps the limits raised.
            **load_limits(self.env_file.read_text()),
        )

    def address(self, text: str) -> str:
        """``localhost:8000`` in a page means this project's api."""
        return text.replace("localhost:8000", f"127.0.0.1:{self.port}")

    def remove(self) -> None:
        subprocess.run(
            ["docker", "compose", "down", "-v", "--rmi", "local", "--remove-orphans"],
            cwd=ROOT, env=self.environment(), capture_output=True, check=False,
        )  # fmt: skip


def run_commands(block: Block, target: Target) -> list[str]:
    """Each command of the block in bash; what went wrong, if anything."""
    failures = []
    backups_before = set((ROOT / "backups").glob("*"))
    try:
        for command in commands(block):
            result = subprocess.run(
                ["bash", "-o", "pipefail", "-c", target.address(command.text)],
                cwd=ROOT, env=target.environment(), capture_output=True, text=True,
                timeout=900, check=False,
            )  # fmt: skip
            output = result.stdout + result.stderr
            if result.returncode != 0:
                failures.append(f"{command.text}\n  exited {result.returncode}:\n{output[-3000:]}")
                break
            if command.expected is not None and command.expected not in output:
                failures.append(f"{command.text}\n  no {command.expected!r} in:\n{output[-3000:]}")
    finally:
        for created in set((ROOT / "backups").glob("*")) - backups_before:
            created.unlink()
    return failures


def run_client(block: Block, target: Target) -> list[str]:
    """A Python block, with the client the page generated before it on its path."""
    result = subprocess.run(
        [sys.executable, "-c", target.address(block.text)],
        cwd=ROOT, env={**target.environment(), "PYTHONPATH": str(CLIENT_FOLDER)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return [f"exited {result.returncode}:\n{result.stdout}{result.stderr}"]
    output = result.stdout
    failures = []
    for expected in expectations(block):
        found = output.find(expected)
        if found < 0:
            failures.append(f"no {expected!r} in:\n{output}")
            break
        output = output[found + len(expected) :]
    return failures


METRIC = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
PROMQL_FUNCTIONS = {"histogram_quantile"}


def metrics_named(block: Block) -> set[str]:
    return {name for name in METRIC.findall(block.text) if name not in PROMQL_FUNCTIONS}
