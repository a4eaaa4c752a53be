"""/metrics, for Prometheus: outside the OpenAPI document, and answered only on
METRICS_PORT, which nothing publishes (docs/operating.md)."""

from fastapi import APIRouter, HTTPException, Request, Response, status

from api.http.dependencies import SettingsDep
from api.http.openapi import operation_id
from api.observability.metrics import exposition

router = APIRouter(tags=["health"], generate_unique_id_function=operation_id)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    _, port = request.scope.get("server") or (None, None)
    if port != settings.metrics_port:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    body, content_type = exposition()
    return Response(body, media_type=content_type)
