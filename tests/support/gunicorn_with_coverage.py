"""gunicorn's configuration as the api image runs it (api.gunicorn_conf), plus one hook
the tests need and production does not: a worker's coverage data saved on SIGTERM.

uvicorn's server re-raises SIGTERM with its default action once it has shut down, so a
worker dies without running the exit hooks where coverage saves what it measured.

    python -m gunicorn --config python:tests.support.gunicorn_with_coverage
"""

import os
import signal
import sys
from typing import Any

from api.gunicorn_conf import *  # noqa: F403  (gunicorn reads this module's names)


def post_worker_init(worker: Any) -> None:
    coverage = sys.modules.get("coverage")
    measuring = coverage.Coverage.current() if coverage is not None else None
    if measuring is None:
        return

    def save_then_die(signum: int, frame: object) -> None:  # pragma: no cover - after stop()
        measuring.stop()
        measuring.save()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, save_then_die)
