"""gunicorn's configuration (``gunicorn --config python:api.gunicorn_conf``). Read by the
master before any worker forks: the API's settings are loaded once (a bad value stops
the server once, naming the variable), gunicorn's logger configures logging once, and
the app is built once and shared with every worker (copy on write)."""

import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

from gunicorn import glogging
from starlette.types import ASGIApp
from uvicorn_worker import UvicornWorker

from api.settings import (
    SETTINGS,
    ApiSettings,
    ServerSettings,
    container_memory_bytes,
    workers_within_memory,
)
from shared_models.logs import configure_logging
from shared_models.settings import ConfigurationError
from shared_models.startup import load, refuse

settings = load("api", SETTINGS)
server = settings[ServerSettings]
metrics_port = settings[ApiSettings].metrics_port
try:
    # Checked across two sections, against the container's memory, before any worker forks.
    worker_count = workers_within_memory(server, settings[ApiSettings], container_memory_bytes())
except ConfigurationError as exc:
    refuse("api", settings.log, [str(exc)])

# The workers' shared metrics files, set before the app (and prometheus_client) is
# imported, and emptied: values of an earlier run's workers must not be summed in.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = server.metrics_dir
shutil.rmtree(server.metrics_dir, ignore_errors=True)
Path(server.metrics_dir).mkdir(parents=True)


class Logger(glogging.Logger):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's logger, set up as every process of the stack logs: its master, its
    workers and uvicorn in them write the same lines as the app."""

    def setup(self, cfg: Any) -> None:
        configure_logging(settings.log, "api")


class Worker(UvicornWorker):  # type: ignore[misc]  # uvicorn_worker ships no types
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        # The app writes its own access line (api.observability); uvicorn's would be a second.
        "access_log": False,
        # One write per response, and JSON for what uvicorn refuses (api.http.protocol).
        "http": "api.http.protocol:ApiProtocol",
        # No "server: uvicorn": nothing says what runs behind the door.
        "server_header": False,
        # X-Forwarded-* are read by the app (api.http.forwarded), which knows the proxy
        # by its name.
        "proxy_headers": False,
    }


def serve() -> ASGIApp:
    from api.main import observed_app  # after PROMETHEUS_MULTIPROC_DIR is set

    return observed_app(settings)


wsgi_app = "api.gunicorn_conf:serve()"
logger_class = Logger
worker_class = Worker
workers = worker_count
# The API's address, and /metrics's port on the same interface (api.observability.routes).
host, _, api_port = server.gunicorn_bind.rpartition(":")
bind = [server.gunicorn_bind]
if str(metrics_port) != api_port:
    bind.append(f"{host}:{metrics_port}")
timeout = server.gunicorn_timeout
graceful_timeout = server.gunicorn_graceful_timeout
keepalive = server.gunicorn_keepalive
loglevel = settings.log.log_level
errorlog = "-"
accesslog = None
preload_app = True
# Container file systems may lack a tmpfs at /tmp; the heartbeat files go to memory.
worker_tmp_dir = "/dev/shm"  # noqa: S108
# gunicornc's control socket, on the writable tmpfs (the image's root is read-only).
control_socket = "/tmp/gunicorn.ctl"  # noqa: S108


def child_exit(arbiter: Any, worker: Any) -> None:
    # A dead worker's gauges leave the live sums; its counters stay counted, in an archive.
    from api.observability.dead_workers import archive_dead_worker
    from api.observability.metrics import WORKER_EXITS

    archive_dead_worker(Path(server.metrics_dir), worker.pid)
    WORKER_EXITS.inc()


def on_starting(arbiter: Any) -> None:
    if worker_count < server.web_concurrency:  # the default, capped: say so once
        arbiter.log.warning(
            "workers: %d, not one for each of %d CPUs: every hash they may run at once "
            "must fit in half the container's memory (WEB_CONCURRENCY, "
            "ARGON2_HASHES_AT_ONCE, ARGON2_MEMORY_KIB)",
            worker_count,
            server.web_concurrency,
        )
