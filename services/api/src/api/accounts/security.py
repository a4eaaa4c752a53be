"""Who is asking: the bearer token of the Authorization header (never the query
string), checked for its signature and expiry here, and for its token_version inside
each write's own statement. No token or a bad one: 401; another user's resource: 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer

from api.accounts.tokens import Claims
from api.http.dependencies import KeysDep

# auto_error=False: the 401 below, in this API's words, rather than FastAPI's.
BEARER = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)
CHALLENGE = {"WWW-Authenticate": "Bearer"}
NOT_AUTHENTICATED = "Not authenticated: log in at POST /token and send the bearer token"
BAD_TOKEN = "Invalid or expired token: log in again at POST /token"  # noqa: S105
NOT_YOURS = "This belongs to another user"


def unauthorized(detail: str = BAD_TOKEN) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers=CHALLENGE)


def forbidden() -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, NOT_YOURS)


async def current_account(keys: KeysDep, token: Annotated[str | None, Depends(BEARER)]) -> Claims:
    if not token:
        raise unauthorized(NOT_AUTHENTICATED)
    claims = keys.verify(token)
    if claims is None:
        raise unauthorized()
    return claims


Account = Annotated[Claims, Depends(current_account)]


def require_owner(claims: Claims, owner_id: int) -> None:
    if claims.user_id != owner_id:
        raise forbidden()
