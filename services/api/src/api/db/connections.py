"""Where the pool leans on asyncpg's own behaviour: each such behaviour is one named
function here, pinned by a test against a real server (tests/api/db/test_connections.py),
so an asyncpg release that changes one fails that test rather than production."""

from __future__ import annotations

import contextlib

import asyncpg
from asyncpg import Connection

# What failing to get a connection looks like: refused or timed out, or PostgreSQL
# saying no (too many clients, starting up, a wrong password).
UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

# The message of the client error asyncpg raises when a statement is started on a
# connection whose protocol is still handling a message the server sent while it sat
# idle (the FATAL of a terminated backend): nothing of the statement was sent.
STATE_SWITCH_REFUSED = "cannot switch to state"


def closed_before_sending(connection: Connection, exc: Exception) -> bool:
    """Whether the statement failed because its connection was dead before anything was
    sent, so running it again on another connection cannot run it twice: asyncpg's
    protocol refused to start it (above), or the connection is closed, or asyncpg
    released it on seeing it close. Other client errors (a protocol bug after the
    statement ran, a wrong argument) are not retried."""
    if isinstance(exc, asyncpg.InternalClientError):
        return STATE_SWITCH_REFUSED in str(exc)
    if not isinstance(exc, asyncpg.InterfaceError):
        return False  # e.g. lost mid-statement (ConnectionDoesNotExistError): it may have run
    try:
        closed: bool = connection.is_closed()
    except asyncpg.InterfaceError:  # the pool's proxy was released: asyncpg saw it close
        return True
    return closed


def discard(connection: Connection) -> None:
    """Close the connection at once, so the pool replaces it instead of reusing it."""
    with contextlib.suppress(asyncpg.InterfaceError):  # already released
        connection.terminate()


async def keep_session(connection: Connection) -> None:
    """The pool's reset, which does nothing: every statement runs on its own (autocommit)
    and nothing sets session state, so there is nothing to undo (asyncpg still rolls
    back a transaction left open). asyncpg's default reset costs a round trip."""
