"""The data both apps serve and what we ask of it: the deterministic seed, row counts
(the lost-write check) and pgbench's ceiling, on either database the bench runs:
a throwaway host server (host mode) or the stack's own `db` service (compose mode)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import URL

from bench.load import WRITERS, pinned
from harness.compose import ComposeProject
from harness.databases import connect
from migrator.steps.seed import DEMO_PASSWORD_HASH

PGBENCH_CLIENTS = 16


WRITERS_PASSWORD = (
    f"UPDATE users SET password_hash = '{DEMO_PASSWORD_HASH}', token_version = 0"
    f" WHERE username_key IN (SELECT 'user' || g FROM generate_series(1, {WRITERS}) g)"
)


def seed_statements(users: int, posts: int, *, writers: bool = True) -> list[str]:
    """The same rows on every run of the same size. One statement each: VACUUM cannot
    run inside the implicit transaction of a multi-statement query."""
    users, posts = int(users), int(posts)  # formatted into the SQL: integers only
    return [
        # username_key: a lowercase ASCII name is its own key (shared_models.identity).
        "INSERT INTO users (username, username_key, email, bio) SELECT 'user' || g, 'user' || g,"
        " 'user' || g ||"
        " '@example.com', CASE WHEN g % 3 = 0 THEN 'Bio of user ' || g END"
        f" FROM generate_series(1, {users}) g",
        # The writers (bench.load.writer_tokens): the demo password, hashed once. Not for
        # a schema from before accounts (--door's previous release: no token there).
        *([WRITERS_PASSWORD] if writers else []),
        "INSERT INTO posts (title, content, user_id, date_posted)"
        f" SELECT 'Post ' || g, repeat('Some words of content. ', 8), 1 + (g % {users}),"
        f" timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, {posts}) g",
        "VACUUM ANALYZE",
    ]


def pgbench_scripts(users: int) -> dict[str, str]:
    """The API's single-row SELECT by id and its post INSERT, with no HTTP and no Python."""
    return {
        "select": f"\\set id random(1, {int(users)})\n"
        "SELECT id, username, email, bio FROM users WHERE id = :id;\n",
        "insert": f"\\set uid random(1, {int(users)})\n"
        "INSERT INTO posts (title, content, user_id) VALUES ('pgbench', 'row', :uid);\n",
    }


class Database(Protocol):
    def execute(self, statements: list[str]) -> None: ...

    def count(self, table: str) -> int: ...

    def pgbench(self, script: str, seconds: int) -> str:
        """pgbench's report of ``script`` run for ``seconds``."""
        ...


class HostDatabase:
    """A database on a host server, reached as its superuser, with the host's pgbench."""

    def __init__(self, url: URL, pgbench_binary: str) -> None:
        self.url = url
        self.pgbench_binary = pgbench_binary

    def execute(self, statements: list[str]) -> None:
        with connect(self.url) as connection:
            for statement in statements:
                connection.execute(statement.encode())

    def count(self, table: str) -> int:
        with connect(self.url) as connection:
            row = connection.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()
        return int(str(row[0])) if row else 0

    def pgbench(self, script: str, seconds: int) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
            file.write(script)
        url = self.url
        try:
            return subprocess.run(
                pinned([self.pgbench_binary, "-n", "-M", "prepared", "-c", str(PGBENCH_CLIENTS),
                        "-j", "1", "-T", str(seconds), "-f", file.name, "-h", url.host or "",
                        "-p", str(url.port), "-U", url.username or "", url.database or ""]),
                env={**os.environ, "PGPASSWORD": url.password or ""},
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
        finally:
            Path(file.name).unlink()


# In the db container, as the superuser, on the application's database (as the Makefile's
# IN_DB): the names come from the container's environment, with the image's defaults.
IN_DB = 'exec "$0" -U "${POSTGRES_USER:-postgres}" -d "${POSTGRES_DB:-app}" "$@"'
# pgbench from inside the db container over TCP, as the services connect, with the
# superuser's password from the secrets volume; the script arrives on standard input.
# Pinned to the core wrk uses, as in host mode, where the image has taskset.
PGBENCH_IN_DB = """
cpus=$1; shift
if [ "$cpus" != none ] && command -v taskset >/dev/null; then set -- taskset -c "$cpus" "$@"; fi
PGPASSWORD="$(cat /run/secrets/postgres_password)"; export PGPASSWORD
cat > /tmp/bench-pgbench.sql
exec "$@" -f /tmp/bench-pgbench.sql -h 127.0.0.1 \\
  -U "${POSTGRES_USER:-postgres}" "${POSTGRES_DB:-app}"
"""


class ComposeDatabase:
    """The stack's own `db` service, reached with `docker compose exec` (psql, pgbench)."""

    def __init__(self, stack: ComposeProject) -> None:
        self.stack = stack

    def _psql(self, *args: str, stdin: str | None = None) -> str:
        command = ("sh", "-c", IN_DB, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *args)
        return self.stack("exec", "-T", "db", *command, stdin=stdin).stdout

    def execute(self, statements: list[str]) -> None:
        self._psql(stdin="".join(f"{statement};\n" for statement in statements))

    def count(self, table: str) -> int:
        return int(self._psql("-At", "-c", f"SELECT count(*) FROM {table}").strip())

    def pgbench(self, script: str, seconds: int) -> str:
        cores = os.cpu_count() or 1
        return self.stack(
            "exec", "-T", "db", "sh", "-c", PGBENCH_IN_DB, "sh",
            str(cores - 1) if cores > 1 else "none",
            "pgbench", "-n", "-M", "prepared", "-c", str(PGBENCH_CLIENTS), "-j", "1",
            "-T", str(seconds),
            stdin=script,
        ).stdout  # fmt: skip


def seed(database: Database, users: int, posts: int, *, writers: bool = True) -> None:
    database.execute(seed_statements(users, posts, writers=writers))


def pgbench_ceiling(database: Database, users: int, seconds: float) -> dict[str, float]:
    """Transactions per second of each pgbench script: the physical ceiling."""
    tps = {}
    for name, script in pgbench_scripts(users).items():
        output = database.pgbench(script, max(1, round(seconds)))
        # pgbench prints no tps when no transaction finished in time (connecting its 16
        # clients can take longer than a smoke run's second on a busy machine).
        line = next((line for line in output.splitlines() if line.startswith("tps = ")), None)
        tps[name] = float(line.split()[2]) if line else 0.0
    return tps


def host_pgbench(bindir: Path | None) -> str:
    """pgbench on PATH, else next to the throwaway server's binaries."""
    return shutil.which("pgbench") or str((bindir or Path("/usr/bin")) / "pgbench")
