"""harness.load: the one percentile every figure uses, and a load's summary of a window."""

from __future__ import annotations

import math

import pytest

from harness.load import Load, LoadReport, Sample, percentile
from harness.processes import RunningApi


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.5, 50), (0.99, 99), (0.991, 100), (1.0, 100), (0.0, 1), (0.01, 1), (0.011, 2)],
)
def test_percentile_is_the_nearest_rank(fraction: float, expected: int) -> None:
    assert percentile(range(100, 0, -1), fraction) == expected


def test_the_median_of_an_even_count_is_the_lower_middle_value() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0], 0.5) == 2.0
    assert math.isnan(percentile([], 0.5))


def test_a_window_counts_every_request_started_in_it_failed_ones_included() -> None:
    samples = [Sample("create", at / 10, at / 10 + 0.010, "201") for at in range(10)]
    samples += [Sample("create", 0.5, 0.6, "503"), Sample("create", 1.0, 1.5, "201")]
    window = LoadReport(samples, 2.0).window(0.0, 1.0)
    assert window == {
        "requests": 11,
        "per_s": 11.0,
        "p50_ms": 10.0,
        "p99_ms": 100.0,
        "max_ms": 100.0,
        "errors": 1,
    }
    assert LoadReport(samples, 2.0).window(5.0, 6.0) == {"requests": 0}


def test_an_endless_load_runs_until_stopped(api_server: RunningApi) -> None:
    with Load(api_server.base_url, math.inf, writers=2, readers=0, pause=0) as load:
        load.sleep_until(1.0)
        load.stop()
        stopped = load.now()
    report = load.report()
    window = report.window(0, report.seconds)
    assert report.seconds <= stopped
    assert window["requests"] == len(report.samples) > 10
    assert window["errors"] == 0, report.errors_by_kind()
    assert all(s.started < report.seconds for s in report.samples)
    assert len(report.acknowledged_ids) == len(report.samples)
