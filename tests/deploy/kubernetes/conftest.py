"""Each variant rendered once per session (kustomize takes a fraction of a second), and
the ingress controller's ConfigMap."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.kubernetes.manifests import (
    CONTROLLER,
    VARIANTS,
    Rendered,
    copy_of_deploy,
    kubectl_or_skip,
    render,
    render_directory,
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


@pytest.fixture(scope="session")
def controller(deploy_copy: Path) -> Rendered:
    """deploy/kubernetes/ingress-nginx: the ingress controller's ConfigMap."""
    kubectl = kubectl_or_skip()
    return Rendered(str(CONTROLLER), render_directory(kubectl, deploy_copy, CONTROLLER))
