"""The API as compose runs it, for the tests that read what it logs."""

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import URL

from harness.processes import RunningApi, running_api

WORKERS = 2


@pytest.fixture(scope="module")
def logged_api(api_database: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    """The API as compose runs it: JSON lines, access log on, two workers."""
    logs = tmp_path_factory.mktemp("observed")
    with running_api(
        api_database, logs, LOG_FORMAT="json", ACCESS_LOG="true", WEB_CONCURRENCY=str(WORKERS)
    ) as api:
        yield api
