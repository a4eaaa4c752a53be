"""The pool's gauges, sampled: requests pay nothing for them."""

from __future__ import annotations

import asyncio

from api.db.pool import Pool
from api.observability.metrics import POOL_CHECKED_OUT, POOL_OPEN, POOL_OVERFLOW


def sample_once(pool: Pool) -> None:
    driver_pool = pool.driver_pool
    if driver_pool is None:
        return
    size = driver_pool.get_size()
    POOL_OPEN.set(size)
    POOL_CHECKED_OUT.set(size - driver_pool.get_idle_size())
    POOL_OVERFLOW.set(max(0, size - driver_pool.get_min_size()))


async def sample_pool_gauges(pool: Pool, every_seconds: float = 1.0) -> None:
    """Keep the pool gauges current until cancelled."""
    while True:
        sample_once(pool)
        await asyncio.sleep(every_seconds)
