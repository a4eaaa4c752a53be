from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared_models.base import Base

if TYPE_CHECKING:
    from shared_models.user import User

TITLE_MAX_LENGTH = 100
# Characters. Text has no length of its own; the API holds content to this, so a page of
# the largest posts stays within what a worker's memory can hold (api.db.keyset).
CONTENT_MAX_LENGTH = 100_000


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        # A user's posts in id order (newest first is the same index read backwards);
        # it also serves the foreign key's lookups, e.g. the ON DELETE CASCADE.
        Index("ix_posts_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    content: Mapped[str] = mapped_column(Text, info={"max_length": CONTENT_MAX_LENGTH})
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # Set by the server, so every writer (API, psql, a backfill) agrees on the clock.
    date_posted: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    author: Mapped[User] = relationship(back_populates="posts", lazy="raise")
