"""Each account's write budget: WRITES_PER_ACCOUNT writes per WRITE_WINDOW_SECONDS (a
429 with Retry-After past it) and STORED_BYTES_PER_ACCOUNT bytes of posts (a 413 past
it). Both are checked and counted in the write's own statement, on the account's row
(api.accounts.statements); the database keeps the stored bytes whoever writes (the
trigger of revision a4c1e9d27b53). Only a refused write reads why, here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, status

from api.accounts.statements import BUDGET_OF
from api.db.pool import Pool
from api.settings import ApiSettings

TOO_MANY_WRITES = "Too many writes by this account; retry after Retry-After"


@dataclass(frozen=True)
class WriteBudget:
    writes: int
    window: timedelta
    stored_bytes: int

    @classmethod
    def of(cls, settings: ApiSettings) -> WriteBudget:
        window = timedelta(seconds=settings.write_window_seconds)
        return cls(settings.writes_per_account, window, settings.stored_bytes_per_account)

    def params(self) -> dict[str, Any]:
        """The guard's parameters, for a write statement that checks the budget."""
        return {
            "write_window": self.window,
            "writes_per_window": self.writes,
            "stored_bytes_budget": self.stored_bytes,
        }

    async def refusal(
        self, pool: Pool, account_id: int, growth: int | None
    ) -> HTTPException | None:
        """Why the guard refused a write by ``account_id`` that would have grown its posts
        by ``growth`` bytes (None: not known here, the bytes are the only reason left);
        None if nothing refuses it now (its window has just ended: try it again)."""
        row = await pool.fetchrow(BUDGET_OF, account_id=account_id, write_window=self.window)
        if row is None:
            return None
        stored, writes, seconds_left = row
        if writes >= self.writes:
            headers = {"Retry-After": str(max(1, int(seconds_left)))}
            return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_WRITES, headers)
        if growth is None or (growth > 0 and stored + growth > self.stored_bytes):
            detail = (
                f"This account's posts may take {self.stored_bytes} bytes (titles and "
                f"contents, as stored); they take {stored}: delete some to make room"
            )
            return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail)
        return None
