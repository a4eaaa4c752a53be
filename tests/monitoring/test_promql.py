"""tests/monitoring/promql.py finds the metrics of the queries the stack test checks."""

from __future__ import annotations

import pytest

from tests.monitoring.promql import metric_names, selectors


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("up", ["up"]),
        ('sum by (route) (rate(http_requests_total{route!~"/healthz|/readyz"}[5m]))',
         ['http_requests_total{route!~"/healthz|/readyz"}']),
        ("histogram_quantile(0.99, sum by (le, route) (rate(x_bucket[$__rate_interval])))",
         ["x_bucket"]),
        ('a{slo="x"} / on (slo) group_left (query) b:c:ratio{slo="x"} > (14.4 * 0.005)',
         ['a{slo="x"}', 'b:c:ratio{slo="x"}']),
        ("sum by (instance) (p) / on (instance) max by (instance) (q) > 0.8", ["p", "q"]),
        ('count(up{job="api"} == 1) or vector(0) unless absent(z offset 5m)', [
            'up{job="api"}', "z"]),
        ('topk(10, sum by (queryid) (rate(s[1m])) * on (queryid) group_left (query) '
         "max by (queryid, query) (q_id))", ["s", "q_id"]),
    ],
)  # fmt: skip
def test_it_finds_each_selector_and_nothing_else(expr: str, expected: list[str]) -> None:
    assert selectors(expr) == expected
    assert metric_names(expr) == {selector.split("{")[0] for selector in expected}
