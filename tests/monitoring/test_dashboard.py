"""The Grafana dashboard's structure, since no Grafana runs here: Grafana would import it
(a data source variable, unique panel ids and query ids, panels on the 24-column grid
without overlapping), and each SLO has its burn panel. Its queries are run against a real
Prometheus in test_stack.py."""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any

import pytest

from tests.monitoring.tools import MONITORING
from tools import monitoring

DASHBOARD: dict[str, Any] = json.loads((MONITORING / "dashboards" / "api.json").read_text())
COLUMNS = 24


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = DASHBOARD["panels"]
    return found


def test_it_can_be_imported_as_it_is() -> None:
    assert DASHBOARD["uid"]
    assert DASHBOARD["title"]
    assert isinstance(DASHBOARD["schemaVersion"], int)
    assert "id" not in DASHBOARD, "an id from another Grafana would clash on import"
    (variable,) = DASHBOARD["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    for panel in panels():
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": f"${{{variable['name']}}}"}
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]


def test_panel_ids_and_each_panels_query_ids_are_unique() -> None:
    ids = [panel["id"] for panel in panels()]
    assert len(ids) == len(set(ids))
    for panel in panels():
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]
        if panel["type"] != "row":
            assert refs
            assert all(target["expr"].strip() for target in panel["targets"])


def box(panel: dict[str, Any]) -> tuple[int, int, int, int]:
    grid = panel["gridPos"]
    return grid["x"], grid["y"], grid["w"], grid["h"]


@pytest.mark.parametrize("panel", panels(), ids=lambda panel: panel["title"][:40])
def test_each_panel_is_on_the_grid(panel: dict[str, Any]) -> None:
    x, y, w, h = box(panel)
    assert x >= 0
    assert y >= 0
    assert w > 0
    assert h > 0
    assert x + w <= COLUMNS


def test_no_two_panels_overlap() -> None:
    for first, second in combinations(panels(), 2):
        x1, y1, w1, h1 = box(first)
        x2, y2, w2, h2 = box(second)
        apart = x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
        assert apart, f"{first['title']} overlaps {second['title']}"


def test_every_slo_has_its_burn_rate_and_its_budget_left() -> None:
    _, slos = monitoring.load()
    queries = [target["expr"] for panel in panels() for target in panel.get("targets", [])]
    for slo in slos:
        for window in ("1h", "6h", "30d"):
            name = f'slo:sli_error:ratio_rate{window}{{slo="{slo.name}"}}'
            assert any(name in query for query in queries), name
