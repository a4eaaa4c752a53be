"""Container healthcheck (slim images have no curl): exit 0 when /readyz answers 200.

Docker runs it every few seconds, so it imports nothing but the standard library
(pulling in the settings would cost pydantic's import time on every check)."""

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
