"""Guessing, slowed per account: past LOGIN_FAILURES_PER_ACCOUNT failed logins to one
username from one client address within LOGIN_FAILURE_WINDOW_SECONDS, that address's
logins to it are refused with a 429 (the right password too: else guessing goes on)
until the window ends. Counted in the database, so every worker and api container
shares the count; per address, so a guesser cannot lock the owner out from elsewhere.
The proxy limits each address's logins to all usernames (PROXY_LOGINS_PER_ADDRESS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import HTTPException, status

from api.accounts.statements import (
    LOGIN_FAILED,
    LOGIN_REFUSED_FOR,
    LOGIN_SUCCEEDED,
    SWEEP_LOGIN_FAILURES,
)
from api.db.pool import Pool
from api.settings import ApiSettings

TOO_MANY = "Too many failed logins to this account from this address; retry after Retry-After"


@dataclass(frozen=True)
class LoginThrottle:
    pool: Pool
    limit: int
    window: timedelta

    @classmethod
    def of(cls, pool: Pool, settings: ApiSettings) -> LoginThrottle:
        window = timedelta(seconds=settings.login_failure_window_seconds)
        return cls(pool, settings.login_failures_per_account, window)

    async def refuse_if_throttled(self, username_key: str, address: str) -> None:
        """A 429 with Retry-After while this address may not try this username."""
        row = await self.pool.fetchrow(
            LOGIN_REFUSED_FOR, username_key=username_key, address=address,
            window=self.window, limit=self.limit,
        )  # fmt: skip
        if row is not None:
            seconds = max(1, int(row[0]))
            headers = {"Retry-After": str(seconds)}
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY, headers=headers)

    async def failed(self, username_key: str, address: str) -> None:
        await self.pool.fetchrow(
            LOGIN_FAILED, username_key=username_key, address=address, window=self.window
        )
        await self.pool.fetchrow(SWEEP_LOGIN_FAILURES, window=self.window)

    async def succeeded(self, username_key: str, address: str) -> None:
        await self.pool.fetchrow(LOGIN_SUCCEEDED, username_key=username_key, address=address)
