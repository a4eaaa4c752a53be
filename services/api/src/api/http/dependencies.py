"""What a request is handed, from the lifespan's state (the one way state reaches a
request): the worker's pool and the API's settings."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import Depends, Request

from api.db.pool import Pool
from api.settings import ApiSettings


class AppState(TypedDict):
    """What the lifespan yields; Starlette hands it to every request as request.state."""

    pool: Pool
    settings: ApiSettings


# async def: FastAPI runs a plain def dependency in a thread, a cost on every request.
async def get_pool(request: Request) -> Pool:
    pool: Pool = request.state.pool
    return pool


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.state.settings
    return settings


PoolDep = Annotated[Pool, Depends(get_pool)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
