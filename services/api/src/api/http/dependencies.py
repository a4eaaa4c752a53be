"""What a request is handed, from the lifespan's state (the one way state reaches a
request): the worker's pool, the API's settings and what is made of them once."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import Depends, Request

from api.accounts.budget import WriteBudget
from api.accounts.passwords import Hashing
from api.accounts.tokens import KeyRing
from api.db.pool import Pool
from api.settings import ApiSettings


class AppState(TypedDict):
    """What the lifespan yields; Starlette hands it to every request as request.state."""

    pool: Pool
    settings: ApiSettings
    keys: KeyRing
    hashing: Hashing
    budget: WriteBudget


# async def: FastAPI runs a plain def dependency in a thread, a cost on every request.
async def get_pool(request: Request) -> Pool:
    pool: Pool = request.state.pool
    return pool


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.state.settings
    return settings


async def get_keys(request: Request) -> KeyRing:
    keys: KeyRing = request.state.keys
    return keys


async def get_hashing(request: Request) -> Hashing:
    hashing: Hashing = request.state.hashing
    return hashing


async def get_write_budget(request: Request) -> WriteBudget:
    budget: WriteBudget = request.state.budget
    return budget


PoolDep = Annotated[Pool, Depends(get_pool)]
KeysDep = Annotated[KeyRing, Depends(get_keys)]
HashingDep = Annotated[Hashing, Depends(get_hashing)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
BudgetDep = Annotated[WriteBudget, Depends(get_write_budget)]
