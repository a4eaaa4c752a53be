"""``python -m api.drain``, in an api container: from now on its /readyz answers 503, so
the proxy sends it no new request while the ones in flight finish (make release, before
it stops the container). The file is DRAIN_FILE, on the container's tmpfs."""

import sys
from pathlib import Path

from api.settings import ApiSettings
from shared_models.startup import load


def main() -> int:
    Path(load("drain", (ApiSettings,))[ApiSettings].drain_file).touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
