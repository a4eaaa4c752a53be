"""The token response of POST /token (RFC 6749, 5.1)."""

from typing import Literal

from api.http.schemas import Output


class TokenOut(Output):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int  # seconds
