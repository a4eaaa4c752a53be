"""The worker's memory of verified tokens (api.accounts.tokens): a token verified once is
taken from memory after, but never past its expiry or once its key is gone, and the
memory stays bounded. (Forged tokens against the real app: test_who_may_write.py.)"""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from api.accounts import tokens
from api.accounts.tokens import Claims, KeyRing
from migrator.steps.secrets import new_key_line


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    keys = tmp_path / "keys"
    keys.write_text(new_key_line() + "\n")
    return KeyRing(keys, minutes=15)


def signed(ring: KeyRing, expires_in: float) -> str:
    kid, key = next(iter(ring.keys.items()))
    claims = {"sub": "7", "ver": 2, "exp": int(time.time() + expires_in)}
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})


def test_a_verified_token_is_remembered_until_it_expires(ring: KeyRing) -> None:
    token = signed(ring, 2)
    assert ring.verify(token) == Claims(7, 2)
    assert token in ring.verified
    assert ring.verify(token) == Claims(7, 2)
    time.sleep(2.1)
    assert ring.verify(token) is None
    assert token not in ring.verified


def test_a_remembered_token_is_refused_once_its_key_is_gone(
    ring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = ring.issue(Claims(7, 0))
    assert ring.verify(token) == Claims(7, 0)
    ring.path.write_text(new_key_line() + "\n")  # the old key removed from the file
    monkeypatch.setattr(tokens, "RELOAD_SECONDS", 0.0)
    other = KeyRing(ring.path, minutes=15).issue(Claims(8, 0))  # an unknown kid: reread
    assert ring.verify(other) == Claims(8, 0)
    assert ring.verify(token) is None


def test_only_valid_tokens_are_remembered_and_never_too_many(
    ring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_TOKENS", 3)
    assert ring.verify(signed(ring, -10)) is None
    assert ring.verify("not.a.token") is None
    assert ring.verified == {}
    made = [ring.issue(Claims(n, 0)) for n in range(5)]
    assert [ring.verify(token) for token in made] == [Claims(n, 0) for n in range(5)]
    assert list(ring.verified) == made[2:]  # the oldest forgotten first
