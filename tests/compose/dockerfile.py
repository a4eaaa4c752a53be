"""services/Dockerfile, read stage by stage: each Python image is the stage named for its
package (compose.yaml's build argument PACKAGE)."""

from __future__ import annotations

import re
from pathlib import Path

from harness.paths import ROOT

DOCKERFILE = ROOT / "services" / "Dockerfile"


def stages(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """Every named stage's instructions, from its FROM to the next one, by name."""
    parts = re.split(r"^(?=FROM )", dockerfile.read_text(), flags=re.MULTILINE)
    named = [(re.match(r"FROM \S+ AS (\S+)\n", part), part) for part in parts]
    return {match[1]: part for match, part in named if match}


def image_stage(package: str, dockerfile: Path = DOCKERFILE) -> str:
    """The stage the image of ``package`` is (the Dockerfile's last line: FROM ${PACKAGE})."""
    assert dockerfile.read_text().rstrip().splitlines()[-1] == "FROM ${PACKAGE}"
    return stages(dockerfile)[package]
