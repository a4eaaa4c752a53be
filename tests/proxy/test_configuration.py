"""The proxy's configuration as files: every setting haproxy.cfg reads is declared in
services/proxy/settings and passed by compose.yaml, and the other way round; start.sh
refuses a bad value naming it; HTTPS is Mozilla's "intermediate" profile. (The running
door: tests/faults/test_door.py and test_front_door.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from harness.paths import ROOT
from tools.configuration import proxy_variables

PROXY = ROOT / "services" / "proxy"
CONFIG = (PROXY / "haproxy.cfg").read_text()
# Mozilla's server-side TLS guidelines (ssl-config.mozilla.org), "intermediate": its TLS
# 1.2 ciphers (OpenSSL names) and TLS 1.3 suites. The DHE ones need parameters this door
# does not keep.
INTERMEDIATE_CIPHERS = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
}  # fmt: skip
INTERMEDIATE_SUITES = {
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
}


def global_option(name: str) -> list[str]:
    (found,) = re.findall(rf"^\s*{re.escape(name)}\s+(.+)$", CONFIG, flags=re.MULTILINE)
    return str(found).split()


def test_https_is_mozillas_intermediate_profile() -> None:
    """TLS 1.0 and 1.1 and weak ciphers are also refused by the sandbox's OpenSSL (Debian's
    MinProtocol and SECLEVEL), so only this says the door itself refuses them."""
    (ciphers,) = global_option("ssl-default-bind-ciphers")
    assert set(ciphers.split(":")) <= INTERMEDIATE_CIPHERS, ciphers
    (suites,) = global_option("ssl-default-bind-ciphersuites")
    assert set(suites.split(":")) <= INTERMEDIATE_SUITES, suites
    options = global_option("ssl-default-bind-options")
    assert options[options.index("ssl-min-ver") + 1] == "TLSv1.2", options
    assert "no-tls-tickets" in options, options
    assert re.search(r"^\s*bind :8443 ssl crt \S+ alpn h2,http/1\.1$", CONFIG, re.MULTILINE)


def test_every_setting_is_declared_read_and_passed_by_compose() -> None:
    declared = {variable.name for variable in proxy_variables()}
    read = set(re.findall(r"\$\{(\w+?)(?:_LIST)?(?:\[\*\])?\}", CONFIG))
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    passed = set(compose["services"]["proxy"]["environment"])
    assert read - {"PROXY_DEVELOPMENT"} == declared, "haproxy.cfg and services/proxy/settings"
    assert passed == declared, "compose.yaml's proxy environment and services/proxy/settings"


def start(**settings: str) -> subprocess.CompletedProcess[str]:
    """start.sh with ``settings``: a bad one stops it before it waits for the certificate."""
    environment = {"PATH": os.environ["PATH"], **settings}
    return subprocess.run(
        ["sh", str(PROXY / "start.sh"), "true"], env=environment, capture_output=True,
        text=True, timeout=10, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"PROXY_HEAD_SECONDS": "soon"}, "PROXY_HEAD_SECONDS: must be a whole number"),
        ({"PROXY_HEAD_SECONDS": "5s"}, "PROXY_HEAD_SECONDS: must be a whole number"),
        ({"PROXY_REQUESTING_PER_ADDRESS": "0"}, "PROXY_REQUESTING_PER_ADDRESS: must be from 1"),
        ({"PROXY_HEAD_BYTES": "99999999"}, "PROXY_HEAD_BYTES: must be from 4096 to 1048576"),
        ({"PROXY_HEAD_BYTES": "-1"}, "PROXY_HEAD_BYTES: must be a whole number"),
        (
            {"PROXY_FORWARDED_UPSTREAMS": "10.0.0.0/8,evil.example"},
            "PROXY_FORWARDED_UPSTREAMS: must be addresses or networks",
        ),
        (
            {"PROXY_PROTOCOL_UPSTREAMS": "10.0.0.1; rm -rf /"},
            "PROXY_PROTOCOL_UPSTREAMS: must be addresses or networks",
        ),
    ],
)
def test_a_bad_setting_stops_the_proxy_naming_it(settings: dict[str, str], message: str) -> None:
    started = start(**settings)
    assert started.returncode == 2, started
    assert started.stderr.startswith("proxy: invalid configuration: "), started.stderr
    assert message in started.stderr


def test_every_bad_setting_is_named_at_once() -> None:
    started = start(PROXY_HEAD_SECONDS="x", PROXY_API_SLOTS="0")
    assert "PROXY_HEAD_SECONDS" in started.stderr
    assert "PROXY_API_SLOTS" in started.stderr


# What each of the access line's HAProxy fields can read at its widest: a redispatched
# request's retries ("+2"), a connection never made (-1), no server ("<NOSRV>").
WIDEST_VALUES = {
    "%{+E}HM": "GET", "%{+E}HPO": '/a\\"b', "%ST": "503", "%ci": "2001:db8::1",
    "%Ta": "2003", "%B": "264", "%s": "<NOSRV>", "%rc": "+2", "%ts": "SC",
    "%Tw": "-1", "%Tc": "-1",
}  # fmt: skip


def test_every_access_line_is_json_whatever_its_fields_read() -> None:
    (line_format,) = re.findall(r"^\s*log-format '(.+)'$", CONFIG, flags=re.MULTILINE)
    line = re.sub(r"%\[[^\]]+\]", "2026-12-06T00:00:00Z", line_format)
    for field in sorted(WIDEST_VALUES, key=len, reverse=True):
        line = line.replace(field, WIDEST_VALUES[field])
    assert "%" not in line, f"a field this test does not know: {line}"
    assert json.loads(line)["retries"] == "+2"
