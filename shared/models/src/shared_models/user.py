from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Identity, String
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
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    bio: Mapped[str | None] = mapped_column(String(BIO_MAX_LENGTH))

    # passive_deletes: the database's ON DELETE CASCADE removes the posts; the ORM
    # must not load them first just to delete them one by one.
    posts: Mapped[list[Post]] = relationship(
        back_populates="author", passive_deletes=True, lazy="raise"
    )
