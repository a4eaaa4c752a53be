"""migrator.monitoring's record of a run is best effort: a database that cannot take it
leaves a warning, and the run's own outcome stands."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.engine import URL

from harness.postgres import free_port
from migrator.monitoring import Outcome, record_run


def test_a_database_that_cannot_take_the_record_leaves_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nowhere = URL.create(
        "postgresql+psycopg", username="u", password="p", host="127.0.0.1", port=free_port()
    )
    with caplog.at_level(logging.WARNING, logger="migrator.monitoring"):
        record_run(nowhere, 1, "app", Outcome.FAILED, "head")  # returns: no exception
    assert "could not record the run's outcome for monitoring" in caplog.text
