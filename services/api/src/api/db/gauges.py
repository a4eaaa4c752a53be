"""The pool's gauges, sampled: requests pay nothing for them."""

from __future__ import annotations

import asyncio

from api.db.pool import Database
from api.observability.metrics import POOL_CHECKED_OUT, POOL_OPEN, POOL_OVERFLOW


def sample_once(database: Database) -> None:
    pool = database.pool
    if pool is None:
        return
    size = pool.get_size()
    POOL_OPEN.set(size)
    POOL_CHECKED_OUT.set(size - pool.get_idle_size())
    POOL_OVERFLOW.set(max(0, size - pool.get_min_size()))


async def sample_pool_gauges(database: Database, every_seconds: float = 1.0) -> None:
    """Keep the pool gauges current until cancelled."""
    while True:
        sample_once(database)
        await asyncio.sleep(every_seconds)
