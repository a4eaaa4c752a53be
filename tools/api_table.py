"""The API doc's table of routes (docs/api.md), from the app's own OpenAPI document."""

from __future__ import annotations

from typing import Any

from api.main import create_app
from api.settings import ApiDatabaseSettings, ApiSettings

METHOD_ORDER = ["get", "post", "patch", "put", "delete"]


def openapi_document() -> dict[str, Any]:
    """The document the running API serves; building the app connects to nothing."""
    app = create_app(
        ApiDatabaseSettings(database_url="postgresql://docs@localhost/docs"), ApiSettings()
    )
    return app.openapi()


def api_table(document: dict[str, Any] | None = None) -> str:
    document = document or openapi_document()
    rows = ["| Method and path | What it does | Success | Errors |", "|---|---|---|---|"]
    for path, item in document["paths"].items():
        for method in sorted(item, key=METHOD_ORDER.index):
            operation = item[method]
            codes = sorted(operation["responses"])
            success = [code for code in codes if code.startswith("2")]
            errors = [code for code in codes if not code.startswith("2")]
            rows.append(
                f"| `{method.upper()} {path}` | {operation['summary']} "
                f"| {', '.join(success)} | {', '.join(errors)} |"
            )
    return "\n".join(rows)
