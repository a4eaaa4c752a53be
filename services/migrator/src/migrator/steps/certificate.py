"""The proxy's certificate when the operator gives none: a small authority of the stack's
own, made once (its key stays in the volume, readable by root alone), and a certificate
it signs for every name in PUBLIC_HOSTS, for the proxy to serve. `ca.pem` is what a client
trusts; `renew-certificate` signs a new one with the same authority."""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from migrator.image_users import PROXY_UID

TLS_DIR = Path("/run/tls")
AUTHORITY = "ca.pem"  # public: what clients trust
AUTHORITY_KEY = "ca-key.pem"  # root's alone: only renewals need it
SERVED = "proxy.pem"  # the certificate, then its key: what HAProxy's `crt` reads
AUTHORITY_DAYS = 3650
CERTIFICATE_DAYS = 397  # the longest a browser accepts for a server certificate
PEM = serialization.Encoding.PEM


def names_for(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """A subject alternative name per host: an address, a DNS name, or a wildcard one
    (``*`` alone names no host and is left out)."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if host != "*":
                names.append(x509.DNSName(host))
    return names


SIGNS_CERTIFICATES = x509.KeyUsage(
    digital_signature=False, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)  # fmt: skip


def authority(now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fastapi-alembic-stack CA")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=AUTHORITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(SIGNS_CERTIFICATES, critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def served(
    hosts: Sequence[str],
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    now: datetime.datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    first = next((host for host in hosts if host != "*"), "localhost")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, first)]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.SubjectAlternativeName(names_for(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    return certificate, key


def private(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def put(path: Path, content: bytes, mode: int, owner_uid: int) -> None:
    """Atomically, with its mode and owner set before it appears."""
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_bytes(content)
    temporary.chmod(mode)
    os.chown(temporary, owner_uid, owner_uid)
    temporary.replace(path)


def ensure_certificate(directory: Path, hosts: Sequence[str], *, renew: bool = False) -> str:
    """The proxy's certificate, made if missing (or signed anew with ``renew``); what was
    done, in words. An operator's certificate (no authority key beside it) is left alone."""
    now = datetime.datetime.now(datetime.UTC)
    made_here = (directory / AUTHORITY_KEY).exists()
    if (directory / SERVED).exists() and not (renew and made_here):
        if renew:
            return f"{SERVED} is the operator's (no {AUTHORITY_KEY} beside it): not renewed"
        return f"{SERVED} is in place"
    if made_here:
        ca_pem = (directory / AUTHORITY).read_bytes()
        issuer = x509.load_pem_x509_certificate(ca_pem)
        loaded = serialization.load_pem_private_key((directory / AUTHORITY_KEY).read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        issuer_key = loaded
    else:
        issuer, issuer_key = authority(now)
        put(directory / AUTHORITY_KEY, private(issuer_key), 0o400, 0)
        put(directory / AUTHORITY, issuer.public_bytes(PEM), 0o444, 0)
    certificate, key = served(hosts, issuer, issuer_key, now)
    put(directory / SERVED, certificate.public_bytes(PEM) + private(key), 0o400, PROXY_UID)
    expires = certificate.not_valid_after_utc.date()
    return f"{'renewed' if made_here else 'made'} {SERVED} for {', '.join(hosts)} (until {expires})"
