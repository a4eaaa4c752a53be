"""An operator sets a user's password: ``make set-password user=NAME``, in the api's image
as the api's database role. A user made before accounts gets one this way, and so does
one who lost theirs; every token the user holds ends with it.

The password is never an argument or an environment variable, which ``ps`` and shell
history show: a new random one is printed once (to hand over, for the user to change),
or ``--stdin`` reads one, which must meet the rules of a password the API accepts.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from typing import TextIO

import asyncpg
from sqlalchemy import bindparam, update

from api.accounts.passwords import hasher, refusal
from api.accounts.statements import ONE_MORE
from api.db.query import compiled
from api.settings import ApiDatabaseSettings, PasswordHashing
from shared_models import User
from shared_models.identity import username_key
from shared_models.logs import LogSettings
from shared_models.startup import start

# The same row a login finds: by the username's key, so any spelling of the name works.
SET_PASSWORD = compiled(
    update(User)
    .where(User.username_key == bindparam("username_key"))
    .values(password_hash=bindparam("password_hash"), token_version=ONE_MORE)
    .returning(User.id, User.username)
)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make set-password user=NAME",
        description="Set a user's password; it ends every token they hold.",
    )
    parser.add_argument("username")
    parser.add_argument(
        "--stdin", action="store_true", help="read the password from standard input"
    )
    return parser.parse_args(argv)


async def set_password(dsn: str, username: str, digest: str) -> str | None:
    """The user's name as stored, once their password hash is ``digest``; None for no
    user."""
    connection = await asyncpg.connect(dsn, server_settings={"application_name": "set-password"})
    try:
        row = await SET_PASSWORD.fetchrow(
            connection, username_key=username_key(username), password_hash=digest
        )
    finally:
        await connection.close()
    return None if row is None else str(row["username"])


def main(argv: list[str] | None = None, stdin: TextIO = sys.stdin) -> int:
    args = arguments(argv)
    if args.stdin:
        password = stdin.readline().rstrip("\n")
        if why := refusal(password):
            print(f"set-password: {why}", file=sys.stderr)
            return 2
    else:
        password = secrets.token_urlsafe(18)  # 144 random bits, 24 characters
    # Every bad variable named at once, exit status 2: as the api itself starts.
    settings = start("set-password", [ApiDatabaseSettings, PasswordHashing, LogSettings])
    database = settings[ApiDatabaseSettings]
    dsn = database.url("asyncpg").set(drivername="postgresql").render_as_string(False)
    digest = hasher(settings[PasswordHashing]).hash(password)  # at the api's cost
    try:
        name = asyncio.run(set_password(dsn, args.username, digest))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"set-password: the database refused or cannot be reached: {exc}", file=sys.stderr)
        return 1
    if name is None:
        print(f"set-password: no user is named {args.username!r}", file=sys.stderr)
        return 1
    if args.stdin:
        print(f"{name}'s password is set; every token they held has ended")
    else:
        print(f"{name}'s password is now: {password}")
        print("Hand it over in a private channel; they can change it with PATCH /users/{id}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
