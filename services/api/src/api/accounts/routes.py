"""POST /token: the OAuth2 password grant (RFC 6749, 4.3), form-encoded, as FastAPI's
security tutorial and any OAuth2 client (the /docs Authorize button) send it."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.accounts.passwords import PASSWORD_MAX_LENGTH
from api.accounts.schemas import TokenOut
from api.accounts.security import unauthorized
from api.accounts.statements import ACCOUNT_BY_USERNAME
from api.accounts.tokens import Claims
from api.http.dependencies import HashingDep, KeysDep, PoolDep
from api.http.openapi import documented
from shared_models.identity import username_key
from shared_models.user import USERNAME_MAX_LENGTH

router = APIRouter(tags=["accounts"])

# One answer for an unknown name and a wrong password: which names exist stays unsaid.
WRONG = "Incorrect username or password"


@router.post(
    "/token",
    summary="Log in: a bearer access token for a username and password",
    response_model=TokenOut,
    responses=documented(401, 413, 503),
)
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    pool: PoolDep,
    keys: KeysDep,
    hashing: HashingDep,
) -> TokenOut:
    if len(form.username) > USERNAME_MAX_LENGTH or len(form.password) > PASSWORD_MAX_LENGTH:
        raise unauthorized(WRONG)  # no account has it: nothing to look up or hash
    row = await pool.fetchrow(ACCOUNT_BY_USERNAME, username_key=username_key(form.username))
    # Checked against a decoy hash when there is no such user, or no password yet.
    if not await hashing.verify(form.password, row["password_hash"] if row else None):
        raise unauthorized(WRONG)
    assert row is not None
    token = keys.issue(Claims(row["id"], row["token_version"]))
    return TokenOut(access_token=token, token_type="bearer", expires_in=keys.lifetime)  # noqa: S106
