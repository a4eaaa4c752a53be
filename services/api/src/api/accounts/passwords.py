"""Passwords: the rules a new one meets (NIST SP 800-63B: 8 to 128 characters, no
composition rules, the most common refused: common_passwords.txt names its source),
and its Argon2id hash: RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes;
pwdlib's defaults today), written out so an update cannot change them unseen. A hash
costs about 0.15 s of CPU and 64 MiB, so at most ARGON2_HASHES_AT_ONCE run at once
per worker, in threads: the event loop and its reads are never held.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import anyio
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api.settings import PasswordHashing

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
COMMON = Path(__file__).with_name("common_passwords.txt")


def hasher(cost: PasswordHashing) -> PasswordHash:
    """Hashes at ``cost``; checks a hash at the cost it was made with (it says which)."""
    return PasswordHash(
        (
            Argon2Hasher(
                time_cost=cost.argon2_passes,
                memory_cost=cost.argon2_memory_kib,
                parallelism=cost.argon2_lanes,
            ),
        )
    )


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON.read_text().splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def refusal(password: str) -> str | None:
    """Why ``password`` is refused, in words that never repeat it; None if it is taken."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"password must be at least {PASSWORD_MIN_LENGTH} characters"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"password must be at most {PASSWORD_MAX_LENGTH} characters"
    if password.lower() in common_passwords():
        return "password is one of the most common passwords; choose another"
    return None


class Hashing:
    """The worker's hashing: at most ARGON2_HASHES_AT_ONCE hashes or checks at a time, in
    threads."""

    def __init__(self, settings: PasswordHashing) -> None:
        self.hasher = hasher(settings)
        self.limiter = anyio.CapacityLimiter(settings.argon2_hashes_at_once)
        # A hash to check against when there is no account: an unknown name costs what
        # a wrong password costs.
        self.decoy = self.hasher.hash("no account has this password")

    async def hash(self, password: str) -> str:
        digest: str = await anyio.to_thread.run_sync(
            self.hasher.hash, password, limiter=self.limiter
        )
        return digest

    async def verify(self, password: str, digest: str | None) -> bool:
        """Whether ``password`` is the one ``digest`` was made from; never for no digest."""
        matches: bool = await anyio.to_thread.run_sync(
            self.hasher.verify, password, digest or self.decoy, limiter=self.limiter
        )
        return matches and digest is not None
