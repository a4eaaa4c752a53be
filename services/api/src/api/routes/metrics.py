from fastapi import APIRouter, HTTPException, Request, Response, status

from api.observability.metrics import exposition

router = APIRouter(tags=["health"])


# Not in the OpenAPI document: it is for Prometheus, not for API clients, and it answers
# only on METRICS_PORT, which nothing publishes (docs/operating.md).
@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    _, port = request.scope.get("server") or (None, None)
    if port != request.app.state.metrics_port:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    body, content_type = exposition()
    return Response(body, media_type=content_type)
