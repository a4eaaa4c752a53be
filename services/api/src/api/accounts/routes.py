"""POST /token: the OAuth2 password grant (RFC 6749, 4.3), form-encoded, as FastAPI's
security tutorial and any OAuth2 client (the /docs Authorize button) send it."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.accounts.passwords import PASSWORD_MAX_LENGTH
from api.accounts.schemas import TokenOut
from api.accounts.security import unauthorized
from api.accounts.statements import ACCOUNT_BY_USERNAME
from api.accounts.throttle import LoginThrottle
from api.accounts.tokens import Claims
from api.http.dependencies import HashingDep, KeysDep, PoolDep, SettingsDep
from api.http.openapi import documented, operation_id
from shared_models.identity import username_key
from shared_models.user import USERNAME_MAX_LENGTH

router = APIRouter(tags=["accounts"], generate_unique_id_function=operation_id)

# One answer for an unknown name and a wrong password: which names exist stays unsaid.
WRONG = "Incorrect username or password"


@router.post(
    "/token",
    summary="Log in: a bearer access token for a username and password",
    response_model=TokenOut,
    responses=documented(401, 413, 429, 503),
)
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    pool: PoolDep,
    keys: KeysDep,
    hashing: HashingDep,
    settings: SettingsDep,
) -> TokenOut:
    too_long = len(form.username) > USERNAME_MAX_LENGTH or len(form.password) > PASSWORD_MAX_LENGTH
    # No account has such a name (nor can PostgreSQL store a NUL): nothing to look up or hash.
    if too_long or "\x00" in form.username:
        raise unauthorized(WRONG)
    key = username_key(form.username)
    # The client's address as the proxy names it (TRUSTED_PROXIES).
    address = request.client.host if request.client else "unknown"
    throttle = LoginThrottle.of(pool, settings)
    await throttle.refuse_if_throttled(key, address)
    row = await pool.fetchrow(ACCOUNT_BY_USERNAME, username_key=key)
    # Checked against a decoy hash when there is no such user, or no password yet.
    if not await hashing.verify(form.password, row["password_hash"] if row else None):
        await throttle.failed(key, address)  # an unknown name counts as a wrong password
        raise unauthorized(WRONG)
    assert row is not None
    await throttle.succeeded(key, address)
    token = keys.issue(Claims(row["id"], row["token_version"]))
    return TokenOut(access_token=token, token_type="bearer", expires_in=keys.lifetime)  # noqa: S106
