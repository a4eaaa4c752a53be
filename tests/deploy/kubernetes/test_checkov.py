"""checkov's Kubernetes checks over the rendered overlays, where checkov is installed
(`uv tool install checkov==3.3.30`: it is kept out of uv.lock, whose pytest and
packaging it would pin back). Every check passes or is skipped in place, on the object,
with a reason (`checkov.io/skipN: CKV_K8S_xx=why`); the reasons are checked always."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.kubernetes.manifests import Rendered

SKIP = re.compile(r"^CKV2?_K8S_\d+=\S.{15,}$")


def test_every_checkov_skip_names_a_check_and_a_reason(rendered: Rendered) -> None:
    for obj in rendered.objects:
        for key, value in obj["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/"):
                assert re.fullmatch(r"checkov\.io/skip\d+", key), key
                assert SKIP.match(value), f"{obj['kind']}/{obj['metadata']['name']}: {value}"


def test_checkov_finds_nothing_unexplained(
    renders: dict[str, Rendered], controller: Rendered, tmp_path: Path
) -> None:
    checkov = shutil.which("checkov")
    if checkov is None:
        reason = "checkov is not installed (uv tool install checkov==3.3.30)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs every check: {reason}")
        pytest.skip(reason)
    for variant, rendered in [*renders.items(), (controller.variant, controller)]:
        (tmp_path / f"{variant}.yaml").write_text(yaml.safe_dump_all(rendered.objects))
    result = subprocess.run(
        [checkov, "--directory", str(tmp_path), "--framework", "kubernetes",
         "--skip-download", "--compact", "--output", "json"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    reports = json.loads(result.stdout)
    for report in reports if isinstance(reports, list) else [reports]:
        failed = [
            f"{check['check_id']} {check['check_name']}: {check['resource']}"
            for check in report["results"]["failed_checks"]
        ]
        assert not failed, "\n".join(failed)
        assert report["summary"]["passed"] > 0
