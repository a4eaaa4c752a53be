"""The api's workers against its container's memory: every Argon2id hash they may run at
once (WEB_CONCURRENCY times ARGON2_HASHES_AT_ONCE times ARGON2_MEMORY_KIB) fits in half the
limit. Here with limits written to files as the kernel writes them; in the api's real
container by tests/e2e/test_compose_stack.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import (
    MIB,
    PasswordHashing,
    ServerSettings,
    container_memory_bytes,
    workers_within_memory,
)
from shared_models.settings import ConfigurationError

SHIPPED = PasswordHashing()  # 64 MiB a hash, 2 at once a worker


def limit_files(tmp_path: Path, v2: str | None, v1: str | None) -> tuple[Path, Path]:
    files = (tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes")
    for file, text in zip(files, (v2, v1), strict=True):
        if text is not None:
            file.write_text(text + "\n")
    return files


@pytest.mark.parametrize(
    ("v2", "v1", "limit"),
    [
        ("805306368", None, 768 * MIB),  # cgroup v2, compose's mem_limit: 768m
        ("max", None, None),  # cgroup v2, no limit
        (None, "805306368", 768 * MIB),  # cgroup v1
        (None, "9223372036854771712", None),  # cgroup v1's "no limit"
        (None, None, None),  # not in a container
    ],
    ids=["v2", "v2-none", "v1", "v1-none", "neither"],
)
def test_the_containers_limit_is_read_from_either_cgroup_version(
    tmp_path: Path, v2: str | None, v1: str | None, limit: int | None
) -> None:
    assert container_memory_bytes(limit_files(tmp_path, v2, v1)) == limit


def test_by_default_a_worker_a_cpu_but_no_more_than_the_memory_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    server = ServerSettings()
    # 768 MiB: half of it holds three workers' two 64 MiB hashes.
    assert workers_within_memory(server, SHIPPED, 768 * MIB) == min(server.web_concurrency, 3)
    assert workers_within_memory(server, SHIPPED, 256 * MIB) == 1
    assert workers_within_memory(server, SHIPPED, 64 * MIB) == 1  # never none
    assert workers_within_memory(server, SHIPPED, None) == server.web_concurrency


def test_workers_set_by_hand_that_fit_are_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert workers_within_memory(ServerSettings(), SHIPPED, 768 * MIB) == 3
    monkeypatch.setenv("WEB_CONCURRENCY", "16")
    assert workers_within_memory(ServerSettings(), SHIPPED, None) == 16


def test_workers_set_by_hand_that_do_not_fit_stop_the_server_naming_what_to_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with pytest.raises(ConfigurationError) as refused:
        workers_within_memory(ServerSettings(), SHIPPED, 768 * MIB)
    message = str(refused.value)
    for said in ("WEB_CONCURRENCY", "ARGON2_HASHES_AT_ONCE", "ARGON2_MEMORY_KIB", "512 MiB",
                 "768 MiB", "at most 3 workers"):  # fmt: skip
        assert said in message
