from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from shared_models.base import Base


class LoginFailure(Base):
    """Failed logins to one username from one client address, since the first of them
    (api.accounts.throttle). Keyed by the username's key whether or not an account has
    it, so a refusal says nothing of which names exist; by address, so a guesser
    elsewhere cannot lock the account's owner out."""

    __tablename__ = "login_failures"
    __table_args__ = (
        # The sweep of expired counts reads them oldest first.
        Index("ix_login_failures_first_failed_at", "first_failed_at"),
    )

    username_key: Mapped[str] = mapped_column(Text, primary_key=True)
    address: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_failed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
