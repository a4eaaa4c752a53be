"""The compose stack under a project name of its own, as users run it.

Used by the end-to-end and fault suites and by the benchmark: `compose.yaml` alone (the
production shape), its own project name, host port and (empty or given) env file, so
it never touches a stack you have running, and `remove()` takes its volumes and images.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.paths import ROOT
from harness.postgres import free_port
from harness.processes import LOG_BATCH_WAIT, load_limits, service_env
from harness.tls import test_certificates

TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


class ComposeError(AssertionError):
    pass


class ComposeProject:
    def __init__(
        self,
        prefix: str = "e2e",
        env_file_text: str = "",
        files: tuple[str, ...] = ("compose.yaml",),
        port: int | None = None,
        root: Path = ROOT,
    ) -> None:
        self.project = f"{prefix}-{secrets.token_hex(4)}"
        self.files = files
        # The checkout whose compose files and build contexts these are: this one, or
        # another release's worktree (the benchmark's previous door).
        self.root = root
        folder = Path(tempfile.mkdtemp(prefix=f"{self.project}-"))
        # An env file of its own: the repository's .env (a developer's) must not leak in.
        self.env_file = folder / ".env"
        self.env_file.write_text(env_file_text)
        self.port = port or free_port()  # plain HTTP: it redirects to HTTPS
        self.tls_port = free_port()
        self.plain_url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"https://127.0.0.1:{self.tls_port}"
        # The tests' certificate, which their clients trust (harness.tls).
        self.tls_dir = test_certificates()
        self.env = service_env(
            None,
            API_PORT=str(self.port),
            API_TLS_PORT=str(self.tls_port),
            TLS_DIR=str(self.tls_dir),
            # The development override's ports, when it is merged: free ones of its own.
            DB_PORT=str(free_port()),
            API_DEBUG_PORT=str(free_port()),
            # A test's load is not a person's (harness.processes): its limits raised.
            **load_limits(env_file_text),
        )
        self.command = [
            "docker", "compose", "-p", self.project,
            *(arg for file in files for arg in ("-f", file)),
            "--env-file", str(self.env_file),
        ]  # fmt: skip

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 900, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.command, *args], cwd=self.root, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False, input=stdin,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise ComposeError(
                f"docker compose {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n--- logs ---\n{self.logs()}"
            )
        return result

    def with_file(self, path: Path) -> ComposeProject:
        """The same project, with one more compose file merged on top."""
        merged = copy.copy(self)
        merged.command = [*self.command, "-f", str(path)]
        return merged

    def popen(self, *args: str, stdin: bool = False) -> subprocess.Popen[str]:
        """``docker compose <args>`` in the background; with ``stdin``, its standard input
        is a pipe the caller writes to."""
        return subprocess.Popen(
            [*self.command, *args], cwd=self.root, env=self.env,
            stdin=subprocess.PIPE if stdin else None,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def logs(self, *services: str) -> str:
        result = self("logs", "--no-color", *services, check=False)
        return result.stdout + result.stderr

    def service_log(self, service: str) -> str:
        """What the service's containers wrote, as they wrote it: no prefixes, and none of
        the terminal codes compose 2.26 adds even with --no-color; its last batch of lines
        included."""
        time.sleep(LOG_BATCH_WAIT)
        result = self("logs", "--no-color", "--no-log-prefix", service)
        return TERMINAL_CODES.sub("", result.stdout)

    def run(self, service: str, *args: str, stdin: str | None = None) -> str:
        """``compose run --rm``; its output, both streams."""
        result = self("run", "--rm", "-T", service, *args, stdin=stdin)
        return result.stdout + result.stderr

    def container_ids(self, service: str | None = None) -> list[str]:
        ps = self("ps", "-a", "-q", *([service] if service else []))
        return ps.stdout.split()

    def inspect(self, container_id: str) -> dict[str, Any]:
        inspected = subprocess.run(
            ["docker", "inspect", container_id], capture_output=True, text=True, check=True
        )
        document: dict[str, Any] = json.loads(inspected.stdout)[0]
        return document

    def state(self, service: str) -> dict[str, Any]:
        (container_id,) = self.container_ids(service)
        state: dict[str, Any] = self.inspect(container_id)["State"]
        return state

    def config(self) -> dict[str, Any]:
        rendered: dict[str, Any] = json.loads(self("config", "--format", "json").stdout)
        return rendered

    def remove(self) -> None:
        # Every profile's: a monitoring network or volume would outlive the stack.
        self("--profile", "*", "down", "-v", "--rmi", "local", "--remove-orphans", check=False)
        shutil.rmtree(self.env_file.parent, ignore_errors=True)
