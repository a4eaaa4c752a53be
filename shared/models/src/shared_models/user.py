from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared_models.base import Base

if TYPE_CHECKING:
    from shared_models.post import Post

USERNAME_MAX_LENGTH = 50
EMAIL_MAX_LENGTH = 120
BIO_MAX_LENGTH = 250


class User(Base):
    __tablename__ = "users"

    # bigint identity: the SQL-standard successor of serial, with room to grow.
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # Stored and shown as given; one user per username_key (shared_models.identity).
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH))
    # The username's identity, written by the API with every username: unique (below).
    username_key: Mapped[str] = mapped_column(
        Text, info={"identity_of": "username", "hidden": True}
    )
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    bio: Mapped[str | None] = mapped_column(String(BIO_MAX_LENGTH))
    # An account's Argon2id hash (PHC string, api.accounts.passwords); NULL for a user
    # made before accounts, who cannot log in. Never shown, never logged.
    password_hash: Mapped[str | None] = mapped_column(Text, info={"hidden": True})
    # Raised by every password change: a token carries the value it was issued under,
    # and a write whose token's differs is refused (api.accounts.tokens). NULL reads 0.
    token_version: Mapped[int | None] = mapped_column(Integer, info={"hidden": True})
    # The account's write budget (api.accounts.budget). The bytes of its posts' titles and
    # contents as stored (UTF-8), kept by the database itself: a trigger on posts counts
    # every writer's insert, change and delete (revision a4c1e9d27b53).
    stored_bytes: Mapped[int] = mapped_column(
        BigInteger, server_default=text("0"), info={"hidden": True}
    )
    # Its writes since the start of its current window (WRITE_WINDOW_SECONDS); the epoch,
    # a window long over, until its first counted write opens one.
    writes_in_window: Mapped[int] = mapped_column(
        Integer, server_default=text("0"), info={"hidden": True}
    )
    writes_window_start: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        server_default=text("'1970-01-01 00:00:00+00'"),
        info={"hidden": True},
    )

    # passive_deletes: the database's ON DELETE CASCADE removes the posts; the ORM
    # must not load them first just to delete them one by one.
    posts: Mapped[list[Post]] = relationship(
        back_populates="author", passive_deletes=True, lazy="raise"
    )


# One user per username identity: "Ada" and "ADA", "José" however it is typed, "Zoe" in
# any width, "straße" and "STRASSE" (shared_models.identity).
Index("uq_users_username_key", User.username_key, unique=True)
# Ada@Example.com and ada@example.com are one email: a unique index on the lowered value
# (an expression index rather than citext: no extension, no column type change and so
# no table rewrite). A plain unique constraint would only be a weaker copy of it.
Index("uq_users_lower_email", func.lower(User.email), unique=True)
