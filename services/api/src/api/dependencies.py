"""What the routes get injected: the worker's database, from the lifespan's state."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import Depends, Request

from api.db.pool import Database


class AppState(TypedDict):
    """What the lifespan yields; Starlette hands it to every request as request.state."""

    database: Database


async def get_database(request: Request) -> Database:
    # async def: FastAPI runs a plain def dependency in a thread, ~100 us per request.
    database: Database = request.state.database
    return database


Db = Annotated[Database, Depends(get_database)]
