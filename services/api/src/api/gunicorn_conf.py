"""Gunicorn's configuration (``gunicorn --config python:api.gunicorn_conf``), from the
environment (api.settings).

Loaded by the master before any worker forks, so bad configuration stops the server
once, with a message naming the variable, instead of crash-looping workers.
"""

import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker

from api.settings import SETTINGS, ApiSettings, ServerSettings
from shared_models.logs import logging_config
from shared_models.startup import start

# The app's settings too, so a bad value fails before the first fork.
log_settings = start("api", SETTINGS).log
server = ServerSettings.load()
metrics_port = ApiSettings.load().metrics_port

# The workers' shared metrics files, set before the app (and prometheus_client) is
# imported, and emptied: values of an earlier run's workers must not be summed in.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = server.metrics_dir
shutil.rmtree(server.metrics_dir, ignore_errors=True)
Path(server.metrics_dir).mkdir(parents=True)


class Worker(UvicornWorker):  # type: ignore[misc]  # uvicorn_worker ships no types
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        # The app writes its own access line (api.observability); uvicorn's would be a second.
        "access_log": False,
        # A response's head and body in one write, not two (api.one_write).
        "http": "api.one_write:OneWriteProtocol",
    }


wsgi_app = "api.main:serve_app()"
worker_class = Worker
workers = server.web_concurrency
# The API's address, and /metrics's port on the same interface (api.routes.metrics).
host, _, api_port = server.gunicorn_bind.rpartition(":")
bind = [server.gunicorn_bind]
if str(metrics_port) != api_port:
    bind.append(f"{host}:{metrics_port}")
# X-Forwarded-For and -Proto are believed from these addresses alone (the proxy's).
forwarded_allow_ips = server.forwarded_allow_ips
timeout = server.gunicorn_timeout
graceful_timeout = server.gunicorn_graceful_timeout
keepalive = server.gunicorn_keepalive
# gunicorn's master and workers, and uvicorn in them, log as the app does.
logconfig_dict = logging_config(log_settings, "api")
loglevel = log_settings.log_level
errorlog = "-"
accesslog = None
# Importing the app once in the master shares its memory with every worker (copy on
# write); each worker still opens its own pool in the app's lifespan.
preload_app = True
# Container file systems may lack a tmpfs at /tmp; the heartbeat files go to memory.
worker_tmp_dir = "/dev/shm"  # noqa: S108
# gunicornc's control socket, on the writable tmpfs (the image's root is read-only).
control_socket = "/tmp/gunicorn.ctl"  # noqa: S108


def child_exit(arbiter: Any, worker: Any) -> None:
    # A dead worker's gauges leave the live sums; its counters stay counted, in an archive.
    from api.observability.dead_workers import archive_dead_worker

    archive_dead_worker(Path(server.metrics_dir), worker.pid)
