"""The bare app: the smallest honest FastAPI + asyncpg server of the door benchmark's read.

`GET /users/{user_id}` and `GET /users?limit=&after=` from the same database and rows as
the api, with FastAPI's defaults (a dict returned, its JSON response), one asyncpg pool
per worker of the api's size, and gunicorn with uvicorn's workers, as many as the api
runs: what serving the read costs with nothing else (no request id, metrics, access line,
error bodies, limits). The password is the api role's, read from the secrets volume.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request

USER = "SELECT id, username, email, bio FROM users WHERE id = $1"
USERS = "SELECT id, username, email, bio FROM users WHERE id > $1 ORDER BY id LIMIT $2"
PASSWORD = Path(os.environ["PASSWORD_FILE"]).read_text().strip()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The api's pool: DB_POOL_SIZE 10, DB_POOL_MAX_OVERFLOW 5 (its settings' defaults).
    async with asyncpg.create_pool(
        host=os.environ.get("POSTGRES_HOST", "db"),
        user=os.environ.get("API_DB_USER") or "app_api",
        password=PASSWORD,
        database=os.environ.get("POSTGRES_DB") or "app",
        min_size=10,
        max_size=15,
    ) as pool:
        app.state.pool = pool
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/users/{user_id}")
async def get_user(user_id: int, request: Request) -> dict[str, Any]:
    row = await request.app.state.pool.fetchrow(USER, user_id)
    if row is None:
        raise HTTPException(404, "User not found")
    return dict(row)


@app.get("/users")
async def list_users(request: Request, limit: int = 50, after: int = 0) -> list[dict[str, Any]]:
    rows = await request.app.state.pool.fetch(USERS, after, limit)
    return [dict(row) for row in rows]
