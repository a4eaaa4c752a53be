"""PostgreSQL's eight table lock modes (migrator.plan.locks): each named from pg_locks, and
what each keeps reads (ACCESS SHARE) and writes (ROW EXCLUSIVE) from doing, as
PostgreSQL's table of conflicting lock modes says and as the server does."""

from __future__ import annotations

import itertools

import psycopg
import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from migrator.plan.locks import LockMode

A_S, R_S, R_X, S_U_X, S, S_R_X, X, A_X = LockMode
# "Conflicting Lock Modes" (PostgreSQL's documentation, explicit locking): the modes each
# mode conflicts with.
CONFLICTS = {
    A_S: {A_X},
    R_S: {X, A_X},
    R_X: {S, S_R_X, X, A_X},
    S_U_X: {S_U_X, S, S_R_X, X, A_X},
    S: {R_X, S_U_X, S_R_X, X, A_X},
    S_R_X: {R_X, S_U_X, S, S_R_X, X, A_X},
    X: {R_S, R_X, S_U_X, S, S_R_X, X, A_X},
    A_X: set(LockMode),
}


@pytest.mark.parametrize("mode", LockMode, ids=lambda mode: mode.name)
def test_what_each_mode_blocks_is_postgresqls_table(mode: LockMode) -> None:
    assert mode.blocks_reads is (LockMode.ACCESS_SHARE in CONFLICTS[mode])
    assert mode.blocks_writes is (LockMode.ROW_EXCLUSIVE in CONFLICTS[mode])


def test_only_access_exclusive_blocks_reads_and_from_share_up_writes() -> None:
    assert [mode for mode in LockMode if mode.blocks_reads] == [A_X]
    assert [mode for mode in LockMode if mode.blocks_writes] == [S, S_R_X, X, A_X]


@pytest.fixture
def two_sessions(
    empty_database: URL,
) -> tuple[psycopg.Connection[tuple[object, ...]], psycopg.Connection[tuple[object, ...]]]:
    with connect(empty_database) as db:
        db.execute("CREATE TABLE locked (id int)")
    return connect(empty_database), connect(empty_database)


def test_the_table_is_the_servers(
    two_sessions: tuple[
        psycopg.Connection[tuple[object, ...]], psycopg.Connection[tuple[object, ...]]
    ],
) -> None:
    """Each pair of modes taken by two sessions: the second waits exactly when the table
    says they conflict; and pg_locks names each mode as from_pg_locks reads it."""
    holder, other = two_sessions
    with holder, other:
        for held, wanted in itertools.product(LockMode, LockMode):
            holder.execute("BEGIN")
            holder.execute(f"LOCK TABLE locked IN {held.label} MODE")
            (name,) = holder.execute(
                "SELECT mode FROM pg_locks WHERE relation = 'locked'::regclass"
                " AND pid = pg_backend_pid()"
            ).fetchone() or ("",)
            assert LockMode.from_pg_locks(str(name)) is held
            other.execute("BEGIN")
            try:
                other.execute(f"LOCK TABLE locked IN {wanted.label} MODE NOWAIT")
                waits = False
            except psycopg.errors.LockNotAvailable:
                waits = True
            other.execute("ROLLBACK")
            holder.execute("ROLLBACK")
            assert waits is (wanted in CONFLICTS[held]), (held.label, wanted.label)
