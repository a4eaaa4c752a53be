"""``python -m api.dev``: the development server (compose.override.yaml), one uvicorn that
restarts the app when a source changes, with the protocol gunicorn's workers use. Its
own lines (the watcher's too) are logged as every process of the stack logs."""

import argparse

import uvicorn

from api.settings import SETTINGS, ServerSettings
from shared_models.startup import start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="api.dev", description=__doc__.splitlines()[0])
    parser.add_argument("--reload-dir", action="append", default=[], help="watched for changes")
    arguments = parser.parse_args(argv)
    # This process only watches; the app's own process starts itself (api.main:serve_app).
    server = start("api", SETTINGS)[ServerSettings]
    host, _, port = server.gunicorn_bind.rpartition(":")
    uvicorn.run(
        "api.main:serve_app",
        factory=True,
        host=host,
        port=int(port),
        http="api.http.protocol:ApiProtocol",
        access_log=False,  # the app writes its own access line
        server_header=False,
        proxy_headers=False,  # api.http.forwarded reads them
        reload=True,
        reload_dirs=arguments.reload_dir,
        log_config=None,  # logging is configured: here, and by serve_app in the app's process
    )


if __name__ == "__main__":
    main()
