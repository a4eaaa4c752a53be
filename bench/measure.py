"""What serving costs, beside what wrk sees: CPU seconds of each part, read before and
after each wrk run, and the peak resident memory of each app.

A part is a container (its cgroup's CPU counter: every process in it, exec'd health
checks included), a host process tree (host mode), or a set of host processes (the
container runtime). Each is read as a cumulative clock; a run costs the difference.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import psutil

# Cumulative CPU seconds of one part; only differences between two reads mean anything.
CpuClock = Callable[[], float]

CGROUP_ROOT = Path("/sys/fs/cgroup")
RUNTIME_DAEMONS = {"dockerd", "containerd"}


def container_cpu(pid: int) -> CpuClock:
    """The CPU of the cgroup that process ``pid`` (a container's, from `docker inspect`'s
    State.Pid) is in. Paths in /proc/<pid>/cgroup are relative to our own cgroup
    namespace, which is the host's when the bench runs on the host, as it does."""
    counter = cgroup_cpu_file(Path(f"/proc/{pid}/cgroup").read_text(), CGROUP_ROOT)
    return functools.partial(read_cgroup_cpu, counter)


def cgroup_cpu_file(memberships: str, root: Path) -> Path:
    """The file that counts a cgroup's CPU, from the process's /proc/<pid>/cgroup text:
    cpu.stat on cgroup v2, cpuacct.usage on v1 (or a hybrid host)."""
    entries = [line.split(":", 2) for line in memberships.splitlines() if line]
    if (root / "cgroup.controllers").exists():  # v2 alone: one hierarchy, "0::/path"
        (path,) = (path for _, controllers, path in entries if controllers == "")
        return root / path.lstrip("/") / "cpu.stat"
    # v1: the cpuacct hierarchy, mounted alone or together with cpu.
    candidates = [
        root / mount / path.lstrip("/") / "cpuacct.usage"
        for _, controllers, path in entries
        if "cpuacct" in controllers.split(",")
        for mount in (controllers, "cpuacct", "cpu,cpuacct")
    ]
    found = next((candidate for candidate in candidates if candidate.exists()), None)
    if found is None:
        raise RuntimeError(f"no cgroup v2 cpu.stat or v1 cpuacct.usage under {root}")
    return found


def read_cgroup_cpu(counter: Path) -> float:
    """Seconds, from cpu.stat's usage_usec (v2) or cpuacct.usage's nanoseconds (v1)."""
    if counter.name == "cpuacct.usage":
        return int(counter.read_text()) / 1e9
    for line in counter.read_text().splitlines():
        name, value = line.split()
        if name == "usage_usec":
            return int(value) / 1e6
    raise RuntimeError(f"{counter} has no usage_usec")


def process_tree_cpu(pid: int) -> CpuClock:
    """A host process and its descendants, the exited ones included once their parent has
    reaped them (PostgreSQL's backends, gunicorn's replaced workers)."""
    root = psutil.Process(pid)

    def read() -> float:
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        return total

    return read


def processes_cpu(processes: Iterable[psutil.Process]) -> CpuClock:
    """Only these processes' own CPU (/proc/<pid>/stat, all their threads): not their
    children's, since a shim's children are the containers' processes, counted there."""
    chosen = list(processes)

    def read() -> float:
        total = 0.0
        for process in chosen:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    return read


def runtime_processes(
    container_ids: Iterable[str], ports: Iterable[int]
) -> dict[str, list[psutil.Process]]:
    """The container runtime's host processes serving these containers, by kind: dockerd
    and containerd (shared by every container on the engine), the containerd shim of
    each of ours, and the docker-proxy of each of our published ports (IPv4 and IPv6)."""
    ids = set(container_ids)
    port_args = {str(port) for port in ports}
    found: dict[str, list[psutil.Process]] = {}
    for process in psutil.process_iter(["name", "cmdline"]):
        name, args = process.info["name"] or "", process.info["cmdline"] or []
        if (
            name in RUNTIME_DAEMONS
            or (name.startswith("containerd-shim") and ids & set(args))
            or (name == "docker-proxy" and _option(args, "-host-port") in port_args)
        ):
            found.setdefault(name, []).append(process)
    return found


def _option(args: list[str], name: str) -> str | None:
    with contextlib.suppress(ValueError, IndexError):
        return args[args.index(name) + 1]
    return None


class CpuMeter:
    def __init__(self, clocks: dict[str, CpuClock]) -> None:
        self.clocks = clocks

    def read(self) -> dict[str, float]:
        return {part: clock() for part, clock in self.clocks.items()}

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {part: after[part] - before[part] for part in before}


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    total = 0
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
    return total / 2**20


@contextlib.contextmanager
def sampling_peak_rss(pids: dict[str, int]) -> Iterator[dict[str, float]]:
    """Yields, and keeps up to date every 0.25 s, each named process tree's peak RSS (MB)."""
    peaks = dict.fromkeys(pids, 0.0)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            for name, pid in pids.items():
                peaks[name] = max(peaks[name], tree_rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peaks
    finally:
        stop.set()
        sampler.join()
