"""The statements of logging in and of a refused write's reason, compiled once at import
and registered for the readiness check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Interval,
    bindparam,
    case,
    delete,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert

from api.db.query import compiled
from api.db.readiness import in_use
from shared_models import LoginFailure, User

# A user made before accounts has a NULL token_version: it reads as 0.
# Literals in the SQL, not parameters: api.db.query passes only the named ones.
TOKEN_VERSION = func.coalesce(User.token_version, literal_column("0"))
ONE_MORE = TOKEN_VERSION + literal_column("1")


# A write's guard, in the write's own statement (no extra round trip), on the token's
# user's row: its token_version is still the one the token was issued under.
HOLDS_TOKEN: ColumnElement[bool] = bindparam("claimed_version", type_=Integer) == TOKEN_VERSION


ACCOUNT_BY_USERNAME = in_use(
    compiled(
        select(User.id, User.password_hash, TOKEN_VERSION.label("token_version")).where(
            User.username_key == bindparam("username_key")
        )
    )
)
# Why a write wrote nothing: the token's user gone or its version moved on (a 401).
ACCOUNT_VERSION = in_use(compiled(select(TOKEN_VERSION).where(User.id == bindparam("account_id"))))


# An account's write budget (api.accounts.budget), checked and counted on its user's
# row in the write's own statement: an UPDATE, so concurrent writes of one account take
# turns, and each sees the counts the one before it left (no overshoot under a flood).
WRITE_WINDOW = bindparam("write_window", type_=Interval)
WINDOW_OPEN = User.writes_window_start > func.now() - WRITE_WINDOW
WITHIN_RATE = or_(
    ~WINDOW_OPEN, User.writes_in_window < bindparam("writes_per_window", type_=Integer)
)
# One write more in this window, or the first of a new one.
ONE_MORE_WRITE: dict[str, Any] = {
    "writes_in_window": case(
        (WINDOW_OPEN, User.writes_in_window + literal_column("1")), else_=literal_column("1")
    ),
    "writes_window_start": case((WINDOW_OPEN, User.writes_window_start), else_=func.now()),
}


def within_stored_bytes(growth: ColumnElement[Any]) -> ColumnElement[bool]:
    """The account's posts stay within its bytes after growing by ``growth``; a write
    that shrinks them always may (the budget may have been lowered meanwhile)."""
    budget = bindparam("stored_bytes_budget", type_=BigInteger)
    return or_(growth <= literal_column("0"), User.stored_bytes + growth <= budget)


# Why a write within the budget's guard wrote nothing: the account's counts, and the
# seconds left of its window (none when it is over).
BUDGET_OF = in_use(
    compiled(
        select(
            User.stored_bytes,
            case((WINDOW_OPEN, User.writes_in_window), else_=literal_column("0")),
            func.ceil(func.extract("epoch", User.writes_window_start + WRITE_WINDOW - func.now())),
        ).where(User.id == bindparam("account_id"))
    )
)


# The login throttle's (api.accounts.throttle): one username from one address.
WINDOW = bindparam("window", type_=Interval)
THIS_PAIR = (
    LoginFailure.username_key == bindparam("username_key"),
    LoginFailure.address == bindparam("address"),
)
STILL_COUNTING = LoginFailure.first_failed_at > func.now() - WINDOW
# Seconds until the pair may try again; no row while it may.
LOGIN_REFUSED_FOR = in_use(
    compiled(
        select(
            func.ceil(func.extract("epoch", LoginFailure.first_failed_at + WINDOW - func.now()))
        ).where(*THIS_PAIR, STILL_COUNTING, LoginFailure.failures >= bindparam("limit"))
    )
)
# One failure more, or the first of a new window.
_FAILED = insert(LoginFailure).values(
    username_key=bindparam("username_key"),
    address=bindparam("address"),
    failures=literal_column("1"),
)
LOGIN_FAILED = in_use(
    compiled(
        _FAILED.on_conflict_do_update(
            index_elements=[LoginFailure.username_key, LoginFailure.address],
            set_={
                "failures": case(
                    (STILL_COUNTING, LoginFailure.failures + literal_column("1")),
                    else_=literal_column("1"),
                ),
                "first_failed_at": case(
                    (STILL_COUNTING, LoginFailure.first_failed_at), else_=func.now()
                ),
            },
        )
    )
)
LOGIN_SUCCEEDED = in_use(compiled(delete(LoginFailure).where(*THIS_PAIR)))
# Counts whose window has ended, a few at a time (each failure sweeps some): a guesser
# spraying names from many addresses leaves no table that only grows.
_EXPIRED = (
    select(LoginFailure.username_key, LoginFailure.address)
    .where(LoginFailure.first_failed_at <= func.now() - WINDOW)
    .order_by(LoginFailure.first_failed_at)
    .limit(literal_column("100"))
)
SWEEP_LOGIN_FAILURES = in_use(
    compiled(
        delete(LoginFailure).where(
            func.row(LoginFailure.username_key, LoginFailure.address).in_(_EXPIRED)
        )
    )
)
