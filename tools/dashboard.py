"""The Grafana dashboard of the stack, as data: rows of panels, each one or more PromQL
queries, laid out two to a row. tools.monitoring writes it to
services/monitoring/dashboards/api.json, importable as it is (its data source is a
variable). `$__rate_interval` is Grafana's; the tests give it a value of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.monitoring import Slo

UID = "fastapi-stack-api"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTH, HEIGHT, COLUMNS = 12, 8, 24
NOT_PROBES = 'route!~"/healthz|/readyz"'
LEGEND = {"displayMode": "list", "placement": "bottom"}


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    table: bool = False  # an instant query shown as a table
    width: int = WIDTH


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def rows(slos: list[Slo]) -> list[Row]:
    rate = "[$__rate_interval]"
    return [
        Row("Requests: rate, errors, duration per route", (
            Panel("Requests per second, by route", (
                Query(f"sum by (route) (rate(http_requests_total{{{NOT_PROBES}}}{rate}))",
                      "{{route}}"),
            ), "reqps"),
            Panel("Server errors (5xx) per second, by route and status", (
                Query(f'sum by (route, status) (rate(http_requests_total{{status=~"5.."}}{rate}))',
                      "{{route}} {{status}}"),
                Query(f'sum(rate(haproxy_frontend_http_responses_total{{proxy="public",'
                      f'code="5xx"}}{rate}))', "at the door (the proxy's own included)"),
            ), "reqps"),
            Panel("Duration p50 and p99, by route", (
                Query(f"histogram_quantile(0.99, sum by (le, route) (rate("
                      f"http_request_duration_seconds_bucket{{{NOT_PROBES}}}{rate})))",
                      "p99 {{route}}"),
                Query(f"histogram_quantile(0.5, sum by (le, route) (rate("
                      f"http_request_duration_seconds_bucket{{{NOT_PROBES}}}{rate})))",
                      "p50 {{route}}"),
            ), "s"),
            Panel("Requests in flight, by api container", (
                Query("sum by (instance) (http_requests_in_flight)", "{{instance}}"),
            )),
        )),
        Row("Saturation: the pool, the workers, the proxy", (
            Panel("Database connections of the api's pools", (
                Query("sum(db_pool_checked_out_connections)", "serving a request"),
                Query("sum(db_pool_open_connections)", "open"),
                Query("sum(db_pool_overflow_connections)", "beyond DB_POOL_SIZE"),
            ), description="Checked out close to open, and overflow in use: the pools are "
                           "full; requests then wait (next panel)."),
            Panel("Waits for a connection, and requests that got none", (
                Query(f"sum(rate(db_pool_waits_total{rate}))", "waits per second"),
                Query(f"sum(rate(db_pool_timeouts_total{rate}))", "timeouts per second"),
            ), "reqps"),
            Panel("Ready api containers, as the proxy sees them, and worker exits", (
                Query('sum(haproxy_backend_active_servers{proxy="api"})', "ready"),
                Query('count(up{job="api"} == 1)', "scraped"),
                Query(f"sum(increase(api_worker_exits_total{rate}))", "worker exits"),
            )),
            Panel("The proxy: queue, refusals (429) and its 503s", (
                Query('sum(haproxy_backend_current_queue{proxy="api"})', "queued"),
                Query(f'sum(rate(haproxy_frontend_requests_denied_total{{proxy="public"}}'
                      f'{rate}))', "refused per second (429)"),
                Query(f'sum(rate(haproxy_backend_http_responses_total{{proxy="api",'
                      f'code="5xx"}}{rate}))', "5xx per second"),
            )),
        )),
        Row("The database", (
            Panel("Connections by state, and the server's limit", (
                Query("sum by (state) (pg_stat_activity_count)", "{{state}}"),
                Query("max(pg_settings_max_connections)", "max_connections"),
            )),
            Panel("Top statements by time spent (seconds per second)", (
                Query(f"topk(10, sum by (queryid) (rate(pg_stat_statements_seconds_total{rate})) "
                      "* on (queryid) group_left (query) "
                      "max by (queryid, query) (pg_stat_statements_query_id))", "{{query}}"),
            ), "s", table=True, width=COLUMNS),
            Panel("Locks held and waited for, by mode", (
                Query("sum by (mode) (pg_locks_count)", "held {{mode}}"),
                Query("sum by (mode) (pg_locks_waiting_count)", "waited for {{mode}}"),
            )),
            Panel("Transaction age: the oldest, and the oldest holding a lock others wait for", (
                Query("max by (state) (pg_stat_activity_max_tx_duration)", "oldest {{state}}"),
                Query("max(pg_locks_blocking_oldest_transaction_seconds)", "blocking others"),
            ), "s"),
            Panel("Database size", (
                Query('sum by (datname) (pg_database_size_bytes{datname!~"template.*"})',
                      "{{datname}}"),
            ), "bytes"),
            Panel("The migrator's last run (1: failed)", (
                Query("max by (datname) (migrator_last_run_failed)", "{{datname}}"),
            )),
        )),
        Row("SLOs: how fast each burns its error budget (1 = as fast as it may)", (
            Panel("Burn rate over 1 hour and 6 hours", tuple(
                Query(f'slo:sli_error:ratio_rate{window}{{slo="{slo.name}"}} / on (slo) '
                      f'slo:error_budget:ratio{{slo="{slo.name}"}}', f"{slo.name} {window}")
                for slo in slos for window in ("1h", "6h")
            ), description="Above 14.4 over 1 hour, or 6 over 6 hours, pages "
                           "(SLOErrorBudgetBurn); docs/operating.md."),
            Panel("Error budget left over the period", tuple(
                Query(f'1 - slo:sli_error:ratio_rate30d{{slo="{slo.name}"}} / on (slo) '
                      f'slo:error_budget:ratio{{slo="{slo.name}"}}', slo.name)
                for slo in slos
            ), "percentunit"),
        )),
    ]  # fmt: skip


def panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    targets = []
    for index, query in enumerate(panel.queries):
        target: dict[str, Any] = {
            "refId": chr(ord("A") + index),
            "datasource": DATASOURCE,
            "expr": query.expr,
            "legendFormat": query.legend,
        }
        if panel.table:
            target |= {"instant": True, "range": False, "format": "table"}
        targets.append(target)
    return {
        "id": panel_id,
        "type": "table" if panel.table else "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": HEIGHT},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {}
        if panel.table
        else {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": targets,
    }


def dashboard(slos: list[Slo]) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    panel_id = 1
    for row in rows(slos):
        grid = {"x": 0, "y": y, "w": COLUMNS, "h": 1}
        panels.append({"id": panel_id, "type": "row", "title": row.title, "collapsed": False,
                       "gridPos": grid, "panels": []})  # fmt: skip
        panel_id, y, x = panel_id + 1, y + 1, 0
        for panel in row.panels:
            if x + panel.width > COLUMNS:
                x, y = 0, y + HEIGHT
            panels.append(panel_json(panel, panel_id, x, y))
            panel_id, x = panel_id + 1, x + panel.width
        y += HEIGHT
    return {
        "uid": UID,
        "title": "FastAPI stack: API, proxy, database, SLOs",
        "description": "Generated by make monitoring (tools/dashboard.py); runbooks in "
        "docs/operating.md.",
        "tags": ["fastapi-stack"],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }
