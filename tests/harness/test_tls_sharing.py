"""harness.tls.share_default_contexts, as tests/conftest.py installs it: every httpx client
asking for the default TLS context gets the one made for its CA file, not a new one."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from pathlib import Path

import certifi
import httpx
import pytest


def context_of(client: httpx.Client | httpx.AsyncClient) -> ssl.SSLContext | None:
    """The context the client's connections are made with: httpx (0.28) hands it to the
    transport's httpcore pool, and keeps it nowhere else."""
    transport = client._transport
    assert isinstance(transport, httpx.HTTPTransport | httpx.AsyncHTTPTransport)
    return transport._pool._ssl_context


def sync_context() -> ssl.SSLContext | None:
    with httpx.Client() as client:
        return context_of(client)


def async_context() -> ssl.SSLContext | None:
    async def made() -> ssl.SSLContext | None:
        async with httpx.AsyncClient() as client:
            return context_of(client)

    return asyncio.run(made())


def test_every_client_gets_the_same_context() -> None:
    first = sync_context()
    assert isinstance(first, ssl.SSLContext)
    assert sync_context() is first
    assert async_context() is first


def test_another_ca_file_gets_a_context_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sync_context()
    other_ca = tmp_path / "other-ca.pem"
    shutil.copyfile(certifi.where(), other_ca)
    monkeypatch.setenv("SSL_CERT_FILE", str(other_ca))

    other = sync_context()
    assert isinstance(other, ssl.SSLContext)
    assert other is not before
    assert sync_context() is other
    assert async_context() is other

    monkeypatch.undo()  # the first file again: its context, kept
    assert sync_context() is before


def test_a_context_of_the_clients_own_is_kept() -> None:
    own = ssl.create_default_context(cafile=certifi.where())
    with httpx.Client(verify=own) as client:
        assert context_of(client) is own
