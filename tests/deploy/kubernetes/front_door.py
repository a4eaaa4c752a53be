"""Compose's front door (services/proxy/haproxy.cfg with its settings' defaults, from
services/proxy/settings), read for the limits the Kubernetes one must carry too, and
ingress-nginx's ways of writing sizes and lists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.paths import ROOT
from tools.configuration import proxy_variables

HAPROXY_CFG = ROOT / "services" / "proxy" / "haproxy.cfg"
# ingress-nginx's annotations on an Ingress (its default --annotations-prefix).
NGINX = "nginx.ingress.kubernetes.io/"
TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# HAProxy's time units; a bare number is milliseconds.
TIME_UNITS = {"us": 0.000_001, "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# nginx's size suffixes; a bare number is bytes.
SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class FrontDoor:
    """The limits of compose's HAProxy, in seconds and bytes."""

    head_bytes: int  # tune.bufsize: a request's head fits in one buffer, or is a 400
    head_seconds: float  # timeout http-request: to send the head (then a 408)
    keep_alive_seconds: float  # timeout http-keep-alive: an idle keep-alive connection
    client_seconds: float  # timeout client: a client silent mid-request
    connect_seconds: float  # timeout connect: to the api
    server_seconds: float  # timeout server: the api silent
    open_connections: int  # connections one address may send requests on ...
    past_open_connections: int  # ... past which a request gets this status
    tls_versions: tuple[str, ...]  # ssl-min-ver, and every version after it
    hsts_seconds: int  # Strict-Transport-Security's max-age, its only directive
    redirect_status: int  # plain HTTP's answer: HTTPS's address


def haproxy_seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(us|ms|s|m|h|d)?", value)
    assert match, f"haproxy.cfg: {value} is no time"
    return int(match[1]) * TIME_UNITS[match[2] or "ms"]


# haproxy.cfg's blocks for the development override alone (PROXY_DEVELOPMENT).
DEVELOPMENT_ONLY = re.compile(r"^\.if defined\(PROXY_DEVELOPMENT\)$.*?^\.endif$", re.M | re.S)


# A setting as haproxy.cfg reads it: "${NAME}" alone in its quotes (a unit after it or
# not), or inside a longer string.
SETTING = re.compile(r'"\$\{(\w+)\}(\w*)"')
INSIDE = re.compile(r"\$\{(\w+)\}")


def with_defaults(text: str) -> str:
    """haproxy.cfg as the proxy runs it when .env sets none of its settings."""
    defaults = {variable.name: variable.default for variable in proxy_variables()}
    # start.sh's word lists of the comma-separated settings.
    defaults |= {f"{name}_LIST": value.replace(",", " ") for name, value in defaults.items()}
    text = SETTING.sub(lambda found: defaults[found[1]] + found[2], text)
    return INSIDE.sub(lambda found: defaults[found[1]], text)


def read_front_door(path: Path = HAPROXY_CFG) -> FrontDoor:
    """Production's door, as its settings' defaults make it: the development override's
    blocks left out."""
    text = with_defaults(DEVELOPMENT_ONLY.sub("", path.read_text()))

    def one(pattern: str) -> re.Match[str]:
        found = list(re.finditer(pattern, text, flags=re.MULTILINE))
        assert len(found) == 1, f"{path.name}: {pattern!r} found {len(found)} times"
        return found[0]

    def timeout(name: str) -> float:
        return haproxy_seconds(one(rf"^\s*timeout {name}\s+(\S+)")[1])

    oldest = one(r"^\s*ssl-default-bind-options .*\bssl-min-ver (TLSv1(?:\.[1-3])?)\b")[1]
    hsts = one(r'Strict-Transport-Security "max-age=(\d+)"')
    per_address = one(r"^\s*http-request deny deny_status (\d+) if \{ sc_conn_cur\(0\) gt (\d+) \}")
    return FrontDoor(
        head_bytes=int(one(r"^\s*tune\.bufsize\s+(\d+)")[1]),
        head_seconds=timeout("http-request"),
        keep_alive_seconds=timeout("http-keep-alive"),
        client_seconds=timeout("client"),
        connect_seconds=timeout("connect"),
        server_seconds=timeout("server"),
        open_connections=int(per_address[2]),
        past_open_connections=int(per_address[1]),
        tls_versions=TLS_VERSIONS[TLS_VERSIONS.index(oldest) :],
        hsts_seconds=int(hsts[1]),
        redirect_status=int(one(r"^\s*http-request redirect location .* code (\d+) ")[1]),
    )


def nginx_size(value: str) -> int:
    """`1m`, `16k`, `1024` -> bytes."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value.strip())
    assert match, f"{value!r} is no nginx size"
    return int(match[1]) * SIZE_UNITS[match[2].lower()]


def nginx_buffers(value: str) -> tuple[int, int]:
    """large-client-header-buffers, `4 8k` -> (4, 8192): how many, and each one's size."""
    number, size = value.split()
    return int(number), nginx_size(size)


def nginx_annotations(obj: dict[str, Any]) -> dict[str, str]:
    """An Ingress's ingress-nginx annotations, without their prefix."""
    annotations: dict[str, str] = obj["metadata"].get("annotations", {})
    return {
        key.removeprefix(NGINX): value
        for key, value in annotations.items()
        if key.startswith(NGINX)
    }
