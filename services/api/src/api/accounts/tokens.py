"""Access tokens: JWTs (RFC 7519) signed with HS256, the one algorithm accepted.

HS256: the api alone issues and checks its tokens, so one secret key, kept in the
``secrets`` volume, and no public key to publish. The keys file holds ``<kid> <key>``
lines, newest first: the newest signs, any listed one verifies, so a rotation (``make
rotate-token-key``) leaves earlier tokens valid. PyJWT is told HS256 alone: ``alg:
none`` or any other algorithm a token's header names is refused.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

log = logging.getLogger("api")

ALGORITHM = "HS256"
# A token of ours is about 200 characters: a longer one is refused unread.
MAX_TOKEN_LENGTH = 1024
# An unknown kid rereads the file (a rotation since this worker started), at most this often.
RELOAD_SECONDS = 5.0
# Tokens verified already, per worker, each remembered until it expires: PyJWT's
# checks cost about 85 us a request, a dictionary lookup under 1. Bounded: past it, the
# oldest is forgotten (and verified again when next seen).
VERIFIED_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class Verified:
    claims: Claims
    expires: float  # the token's exp, seconds since the epoch
    kid: str


class KeysError(Exception):
    """The keys file is missing, unreadable or empty."""


@dataclass(frozen=True, slots=True)
class Claims:
    """Whose token it is, and the token_version it was issued under."""

    user_id: int
    version: int


def read_keys(path: Path) -> dict[str, bytes]:
    """The file's keys by kid, newest first."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise KeysError(f"cannot read the token keys file {path}: {exc.strerror}") from None
    keys = {}
    for line in lines:
        kid, _, key = line.strip().partition(" ")
        if kid and key:
            keys[kid] = key.encode()
    if not keys:
        raise KeysError(f"the token keys file {path} holds no key")
    return keys


class KeyRing:
    def __init__(self, path: Path, minutes: int) -> None:
        self.path = path
        self.lifetime = minutes * 60
        self.keys = read_keys(path)
        self.read_at = time.monotonic()
        self.verified: dict[str, Verified] = {}

    def issue(self, claims: Claims) -> str:
        kid, key = next(iter(self.keys.items()))
        now = int(time.time())
        payload = {
            "sub": str(claims.user_id),
            "ver": claims.version,
            "iat": now,
            "exp": now + self.lifetime,
        }
        return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid})

    def key_of(self, kid: object) -> bytes | None:
        if not isinstance(kid, str):
            return None
        if kid not in self.keys and time.monotonic() - self.read_at > RELOAD_SECONDS:
            self.read_at = time.monotonic()
            try:
                self.keys = read_keys(self.path)
            except KeysError as exc:  # keep the keys known: a torn write is retried later
                log.warning("%s", exc)
        return self.keys.get(kid)

    def verify(self, token: str) -> Claims | None:
        """The token's claims when one of our keys signed it and it has not expired."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        known = self.verified.get(token)
        if known is not None:
            # The same string verified before: still unexpired, its key still ours?
            if time.time() < known.expires and known.kid in self.keys:
                return known.claims
            del self.verified[token]
        found = self.checked(token)
        if found is None:
            return None
        if len(self.verified) >= VERIFIED_TOKENS:
            del self.verified[next(iter(self.verified))]  # the oldest remembered
        self.verified[token] = found
        return found.claims

    def checked(self, token: str) -> Verified | None:
        """PyJWT's verdict on the token: signature, algorithm, kid, expiry, claims."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.key_of(kid)
            if key is None:
                return None
            payload = jwt.decode(
                token, key, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "ver"]}
            )
            version, expires = payload["ver"], payload["exp"]
            if not isinstance(version, int) or isinstance(version, bool):
                return None
            return Verified(Claims(int(payload["sub"]), version), float(expires), str(kid))
        except (jwt.InvalidTokenError, ValueError, TypeError):
            return None
