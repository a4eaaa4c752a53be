"""A certificate authority of the tests' own, made once per process, and a certificate it
signs for localhost: each compose project serves it (TLS_DIR), and every HTTPS client of
the process trusts the authority (SSL_CERT_FILE, which httpx reads)."""

from __future__ import annotations

import datetime
import functools
import os
import ssl
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import httpx._config
import httpx._transports.default as httpx_transports
from httpx._types import CertTypes

from migrator.steps.certificate import AUTHORITY, PEM, SERVED, authority, private, served

HOSTS = ("localhost", "127.0.0.1", "::1")


def share_default_contexts() -> None:
    """httpx makes a new TLS context for each client, even one that speaks plain HTTP, and
    loads its CA certificates into it each time: 42% of the test processes' CPU went to
    that. Instead, one context per CA file, shared by every client that asks for the
    default (as requests does). A client given a context of its own keeps it."""
    make = httpx._config.create_ssl_context

    @functools.cache
    def default(trust_env: bool, ca_file: str | None, ca_dir: str | None) -> ssl.SSLContext:
        return make(True, None, trust_env)

    def shared(
        verify: ssl.SSLContext | str | bool = True,
        cert: CertTypes | None = None,
        trust_env: bool = True,
    ) -> ssl.SSLContext:
        if verify is True and cert is None:
            # Without trust_env httpx reads neither variable, so neither may pick the context.
            env: Mapping[str, str] = os.environ if trust_env else {}
            return default(trust_env, env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR"))
        return make(verify, cert, trust_env)

    # The name the transports call (httpx has no setting for it).
    httpx_transports.create_ssl_context = shared  # type: ignore[attr-defined]


@functools.cache
def test_certificates() -> Path:
    """A folder holding proxy.pem (for the proxy, readable by its user) and ca.pem."""
    folder = write_certificates(Path(tempfile.mkdtemp(prefix="test-tls-")))
    os.environ["SSL_CERT_FILE"] = str(folder / AUTHORITY)
    return folder


def write_certificates(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    now = datetime.datetime.now(datetime.UTC)
    issuer, issuer_key = authority(now)
    certificate, key = served(HOSTS, issuer, issuer_key, now)
    (folder / AUTHORITY).write_bytes(issuer.public_bytes(PEM))
    (folder / SERVED).unlink(missing_ok=True)
    (folder / SERVED).write_bytes(certificate.public_bytes(PEM) + private(key))
    (folder / SERVED).chmod(0o444)  # a test key, and the proxy runs as a user of its own
    return folder


if __name__ == "__main__":
    # `python -m harness.tls FOLDER`: a certificate for `make lint`'s `haproxy -c`.
    print(write_certificates(Path(sys.argv[1])))
