"""A backfill in a process of its own, for the tests that kill or stop it:

    python -m tests.migrator.backfill_child DATABASE_URL ROWS_PER_SECOND

On tests.migrator.test_backfill's table: each row's ``changes`` counts the times it was
changed (every row must end at exactly 1).
"""

from __future__ import annotations

import logging
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from migrator.backfill import Backfill, BackfillStoppedError, run_backfill
from migrator.settings import BackfillSettings

TABLE = "backfilled"


def count_a_change(connection, rows):  # type: ignore[no-untyped-def]  # as run_backfill calls it
    ids = [row.id for row in rows]
    result = connection.execute(
        text(f"UPDATE {TABLE} SET changes = changes + 1 WHERE id = ANY(:ids)"), {"ids": ids}
    )
    return result.rowcount


BACKFILL = Backfill("test.backfilled", TABLE, "id", count_a_change)


def main(url: str, rows_per_second: str) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    settings = BackfillSettings(
        migrator_backfill_batch_size=100,
        migrator_backfill_rows_per_second=float(rows_per_second),
        migrator_backfill_log_seconds=0.2,
    )
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            print("started", flush=True)
            run_backfill(connection, BACKFILL, settings)
    except BackfillStoppedError as exc:
        print(f"stopped: {exc}", flush=True)
        return 3
    finally:
        engine.dispose()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
