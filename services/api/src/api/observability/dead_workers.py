"""A dead gunicorn worker's metrics files, folded into one archive per kind.

Its live gauges go (``mark_process_dead``); its counters and histograms must stay
counted (a counter that goes down reads as a reset), so they are merged, with
prometheus_client's own merge, into the archive and their files removed: the directory
holds the live workers' files and one archive per kind, however many have died.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import multiprocess
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from api.observability.metrics import sized

ARCHIVED_KINDS = ("counter", "histogram")


def archive_dead_worker(directory: Path, pid: int) -> None:
    multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    for kind in ARCHIVED_KINDS:
        dead = directory / f"{kind}_{pid}.db"
        if dead.exists():
            merge_into_archive(directory / f"{kind}_archive.db", dead)
    # Its max- and min-mode gauges (the build's info) are the live workers' too.
    for leftover in directory.glob(f"gauge_*_{pid}.db"):
        leftover.unlink()


def merge_into_archive(archive: Path, dead: Path) -> None:
    sources = sized(str(path) for path in (archive, dead))
    merged = multiprocess.MultiProcessCollector.merge(sources, accumulate=False)  # type: ignore[no-untyped-call]
    # Not *.db: a scrape meanwhile reads the old archive and the dead file, not this.
    building = archive.with_name(archive.name + ".new")
    building.unlink(missing_ok=True)
    values = MmapedDict(str(building))  # type: ignore[no-untyped-call]
    try:
        for metric in merged:
            for sample in metric.samples:
                key = mmap_key(
                    metric.name,
                    sample.name,
                    list(sample.labels),
                    list(sample.labels.values()),
                    metric.documentation,
                )
                values.write_value(key, sample.value, sample.timestamp or 0.0)  # type: ignore[no-untyped-call]
    finally:
        values.close()  # type: ignore[no-untyped-call]
    building.replace(archive)
    dead.unlink()
