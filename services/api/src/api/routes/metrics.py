from fastapi import APIRouter, Response

from api.observability.metrics import exposition

router = APIRouter(tags=["health"])


# Not in the OpenAPI document: it is for Prometheus, not for API clients.
@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)
