"""``make seed``: demo data for a newcomer, 1,000 users with 10 posts each, the same rows
on every run and machine, added once (what exists is left alone), as the schema owner in
the migrator's image: ``docker compose run --rm --entrypoint python migrator -m
migrator.steps.seed``.
"""

from __future__ import annotations

import logging
import sys

from sqlalchemy import Connection, text

from migrator.database import connect_with_retry, create_migration_engine
from migrator.errors import MigratorError
from migrator.settings import SEED_SETTINGS, DatabaseWaitSettings, MigratorDatabaseSettings
from shared_models.startup import start

log = logging.getLogger("migrator.seed")

USERS = 1_000
POSTS_PER_USER = 10
# Every demo user logs in with this password (docs/api.md says so): its Argon2id hash,
# made once with the api's parameters (api.accounts.passwords), is written for them all,
# rather than 1,000 hashes of 0.15 s each. tests/migrator checks that the two agree.
DEMO_PASSWORD = "demo passphrase"  # noqa: S105 - public on purpose, for the demo
DEMO_PASSWORD_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$Fy8K0pbafOc1+I2qK+I18Q$"  # noqa: S105
    "2LLWvjrqv30mCd9ughQPR/QqynCxeoHIw4TkipJqrQo"
)

# ON CONFLICT DO NOTHING: whichever unique rule a demo user would break, it is skipped.
DEMO_USERS = text(r"""
INSERT INTO users (username, username_key, email, bio, password_hash, token_version)
SELECT 'demo_' || lpad(g::text, 4, '0'),
       'demo_' || lpad(g::text, 4, '0'),  -- lowercase ASCII: its own key (shared_models.identity)
       'demo_' || lpad(g::text, 4, '0') || '@example.com',
       CASE WHEN g % 3 = 0 THEN 'Demo user number ' || g || '.' END,
       :password_hash,
       0
FROM generate_series(1, :users) AS g
ORDER BY g
ON CONFLICT DO NOTHING
""")

# Demo users seeded before accounts get the demo password too.
DEMO_PASSWORDS = text(r"""
UPDATE users SET password_hash = :password_hash
WHERE username ~ '^demo_[0-9]{4}$' AND password_hash IS NULL
""")

DEMO_POSTS = text(r"""
INSERT INTO posts (title, content, user_id, date_posted)
SELECT 'Post ' || n || ' by ' || u.username,
       repeat('Demo content, line ' || n || '. ', 4),
       u.id,
       timestamptz '2026-01-01 00:00:00+00'
           + (substr(u.username, 6)::int * :per_user + n) * interval '1 hour'
FROM users AS u CROSS JOIN generate_series(1, :per_user) AS n
WHERE u.username ~ '^demo_[0-9]{4}$'
  AND NOT EXISTS (SELECT 1 FROM posts AS p WHERE p.user_id = u.id)
ORDER BY u.username, n
""")


def seed(
    connection: Connection, users: int = USERS, per_user: int = POSTS_PER_USER
) -> tuple[int, int]:
    """Insert what is missing; return how many users and posts were added."""
    password = {"password_hash": DEMO_PASSWORD_HASH}
    added_users = connection.execute(DEMO_USERS, {"users": users, **password}).rowcount
    connection.execute(DEMO_PASSWORDS, password)
    added_posts = connection.execute(DEMO_POSTS, {"per_user": per_user}).rowcount
    connection.commit()
    return added_users, added_posts


def main() -> int:
    settings = start("seed", SEED_SETTINGS)
    database = settings[MigratorDatabaseSettings]
    wait = settings[DatabaseWaitSettings].migrator_db_wait_seconds
    try:
        engine = create_migration_engine(
            database.url("psycopg"), database.postgres_connect_timeout, "seed"
        )
        try:
            with connect_with_retry(engine, wait) as connection:
                added_users, added_posts = seed(connection)
        finally:
            engine.dispose()
    except MigratorError as exc:
        log.error("%s", exc, extra={"outcome": "failed"})
        return 1
    log.info(
        "demo data: added %d users and %d posts (%d users with %d posts each in all)",
        added_users,
        added_posts,
        USERS,
        POSTS_PER_USER,
        extra={"outcome": "succeeded", "users_added": added_users, "posts_added": added_posts},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
