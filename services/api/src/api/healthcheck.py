"""Container healthcheck (slim images have no curl): exit 0 when /readyz answers 200."""

import os
import sys
import urllib.request

from api.settings import ServerSettings


def main() -> int:
    port = ServerSettings().gunicorn_bind.rsplit(":", 1)[-1]
    url = os.environ.get("HEALTHCHECK_URL", f"http://127.0.0.1:{port}/readyz")
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - fixed local URL
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
