"""Each variant rendered once per session (kustomize takes a fraction of a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.kubernetes.manifests import (
    VARIANTS,
    Rendered,
    copy_of_deploy,
    kubectl_or_skip,
    render,
)


@pytest.fixture(scope="session")
def deploy_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_of_deploy(tmp_path_factory.mktemp("deploy"))


@pytest.fixture(scope="session")
def renders(deploy_copy: Path) -> dict[str, Rendered]:
    kubectl = kubectl_or_skip()
    return {
        variant: Rendered(variant, render(kubectl, deploy_copy, variant)) for variant in VARIANTS
    }


@pytest.fixture(params=VARIANTS)
def rendered(request: pytest.FixtureRequest, renders: dict[str, Rendered]) -> Rendered:
    variant: str = request.param
    return renders[variant]
