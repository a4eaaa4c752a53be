"""Who is asking: the bearer token of the Authorization header (never the query
string), checked for its signature and expiry here, and for its token_version inside
each write's own statement. No token or a bad one: 401; another user's resource: 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.requests import HTTPConnection
from fastapi.security import OAuth2PasswordBearer

from api.accounts.tokens import Claims, KeyRing

CHALLENGE = {"WWW-Authenticate": "Bearer"}
NOT_AUTHENTICATED = "Not authenticated: log in at POST /token and send the bearer token"
BAD_TOKEN = "Invalid or expired token: log in again at POST /token"  # noqa: S105
NOT_YOURS = "This belongs to another user"


def unauthorized(detail: str = BAD_TOKEN) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers=CHALLENGE)


def forbidden() -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, NOT_YOURS)


class BearerAccount(OAuth2PasswordBearer):
    """The account of the request's bearer token, verified; and the OAuth2 scheme the
    OpenAPI document declares. One dependency, not three (the scheme, the key ring, the
    check): FastAPI's resolver spends about 15 us on each, on every write."""

    def __init__(self) -> None:
        # auto_error=False: the 401 below, in this API's words, rather than FastAPI's. The
        # scheme keeps the name the document has always given it: clients may key on it.
        super().__init__(tokenUrl="token", scheme_name="OAuth2PasswordBearer", auto_error=False)

    # The override returns the verified claims where the parent returns the raw token.
    async def __call__(self, request: HTTPConnection) -> Claims:  # type: ignore[override]
        token = await super().__call__(request)
        if not token:
            raise unauthorized(NOT_AUTHENTICATED)
        keys: KeyRing = request.state.keys  # the lifespan's (api.http.dependencies)
        claims = keys.verify(token)
        if claims is None:
            raise unauthorized()
        return claims


Account = Annotated[Claims, Depends(BearerAccount())]


def require_owner(claims: Claims, owner_id: int) -> None:
    if claims.user_id != owner_id:
        raise forbidden()
