"""Gunicorn's configuration (``gunicorn --config python:api.gunicorn_conf``), from the
environment (api.settings.ServerSettings).

Loaded by the master before any worker forks, so bad configuration stops the server
once, with a message naming the variable, instead of crash-looping workers.
"""

import sys

from api.settings import SETTINGS, ServerSettings
from shared_models.settings import ConfigurationError

try:
    server = ServerSettings.load()
    # The app's settings too, so a bad value fails before the first fork.
    for settings_class in SETTINGS:
        settings_class.load()
except ConfigurationError as exc:
    print(f"api: {exc}", file=sys.stderr)
    sys.exit(2)

wsgi_app = "api.main:create_app()"
worker_class = "uvicorn_worker.UvicornWorker"
workers = server.web_concurrency
bind = [server.gunicorn_bind]
timeout = server.gunicorn_timeout
graceful_timeout = server.gunicorn_graceful_timeout
keepalive = server.gunicorn_keepalive
loglevel = server.log_level
errorlog = "-"
accesslog = "-" if server.gunicorn_access_log else None
# Importing the app once in the master shares its memory with every worker (copy on
# write); each worker still opens its own pool in the app's lifespan.
preload_app = True
# Container file systems may lack a tmpfs at /tmp; the heartbeat files go to memory.
worker_tmp_dir = "/dev/shm"  # noqa: S108
# gunicornc's control socket, on the writable tmpfs (the image's root is read-only).
control_socket = "/tmp/gunicorn.ctl"  # noqa: S108
