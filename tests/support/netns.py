"""Clients with addresses of their own: network namespaces, each with one veth link to
this machine, over IPv4 (198.18.0.0/15) and IPv6 (2001:2::/48), the benchmarking ranges.

From a namespace, the published port is reached at the machine's side of its link, so
the kernel's NAT forwards the connection with its source address kept: the proxy sees
each namespace as a client of its own. (From the machine itself, through 127.0.0.1,
every client arrives from docker-proxy's one address.) Needs root: CI runs as root.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from harness.paths import ROOT


@dataclass(frozen=True)
class ClientHost:
    namespace: str
    address: str  # the namespace's own
    gateway: str  # the machine's side of the link: where the published port is reached
    address6: str  # the same two, over IPv6
    gateway6: str

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """``python -m <args>`` in the namespace, from the repository's root."""
        return subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, sys.executable, "-m", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def with_root_or_skip() -> None:
    if os.geteuid() == 0:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI runs the front door's attacks, which need network namespaces (root)")
    pytest.skip("the front door's attacks come from network namespaces, which need root")


def free_networks(count: int) -> list[str]:
    """``count`` /24s of 198.18.0.0/15 that no route on this machine covers. A link left by
    an earlier run (a namespace outlives ``ip netns del`` while a process is in it) on the
    same /24 would take the replies to a host, and its every connection would time out."""
    command = ["ip", "-4", "-o", "route", "show", "table", "all"]
    routes = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    taken = set(re.findall(r"\b(198\.1[89]\.\d+)\.", routes))
    candidates = (f"198.{18 + third // 256}.{third % 256}" for third in range(512))
    return [net for net in candidates if net not in taken][:count]


def ipv6_prefix(net: str) -> str:
    """The /64 of 2001:2::/48 that goes with a /24 of free_networks' (the same link)."""
    _, second, third = map(int, net.split("."))
    return f"2001:2:0:{(second - 18) * 256 + third:x}"


def remove(host: ClientHost, outside: str) -> None:
    """The namespace, whatever a timed-out attacker left running in it, and its link."""
    pids = subprocess.run(["ip", "netns", "pids", host.namespace], capture_output=True, text=True)
    for pid in pids.stdout.split():
        subprocess.run(["kill", "-KILL", pid], capture_output=True, check=False)
    subprocess.run(["ip", "link", "del", outside], capture_output=True, check=False)  # and its peer
    subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True, check=False)


@contextmanager
def client_hosts(count: int) -> Iterator[list[ClientHost]]:
    with_root_or_skip()
    tag = secrets.token_hex(2)
    hosts: list[ClientHost] = []
    links: list[str] = []  # each host's link on this machine's side
    try:
        for number, net in enumerate(free_networks(count)):
            namespace, outside, inside = f"atk{tag}{number}", f"va{tag}{number}", f"vb{tag}{number}"
            ip("netns", "add", namespace)
            net6 = ipv6_prefix(net)
            hosts.append(ClientHost(namespace, f"{net}.2", f"{net}.1", f"{net6}::2", f"{net6}::1"))
            links.append(outside)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", namespace)
            ip("addr", "add", f"{net}.1/24", "dev", outside)
            # nodad: usable at once, not after duplicate address detection's second or so.
            ip("addr", "add", f"{net6}::1/64", "dev", outside, "nodad")
            ip("link", "set", outside, "up")
            ip("-n", namespace, "addr", "add", f"{net}.2/24", "dev", inside)
            ip("-n", namespace, "addr", "add", f"{net6}::2/64", "dev", inside, "nodad")
            ip("-n", namespace, "link", "set", inside, "up")
            ip("-n", namespace, "link", "set", "lo", "up")
            ip("-n", namespace, "route", "add", "default", "via", f"{net}.1")
        yield hosts
    finally:
        for host, outside in zip(hosts, links, strict=True):
            remove(host, outside)
