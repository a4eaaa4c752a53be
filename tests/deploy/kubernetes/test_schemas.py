"""Every overlay renders, and every object it renders is valid Kubernetes: strict
schemas (no unknown field) of pinned versions, shipped by kubernetes-validate, with
the network shut so nothing can be fetched."""

from __future__ import annotations

import copy
import socket
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.deploy.kubernetes.manifests import Rendered

# The oldest Kubernetes the manifests are for (they use Job podFailurePolicy and the PDB's
# unhealthyPodEvictionPolicy, GA in 1.31, and the preStop `sleep` action, on by default
# since 1.30), and the newest whose schemas kubernetes-validate ships (in uv.lock).
KUBERNETES_VERSIONS = ("1.31", "1.37")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"schema validation tried to use the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_every_variant_renders_objects(rendered: Rendered) -> None:
    kinds = {obj["kind"] for obj in rendered.objects}
    assert {"Deployment", "Job", "ConfigMap", "NetworkPolicy"} <= kinds
    for obj in rendered.objects:
        assert obj["metadata"].get("namespace") or obj["kind"] == "Namespace", obj["kind"]


def problems(rendered: Rendered, version: str) -> list[str]:
    # Exactly this version's schemas: validate() would quietly fall back to an older one.
    shipped = {".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}
    assert version in shipped, f"kubernetes-validate no longer ships {version}: {shipped}"
    found = []
    for obj in rendered.objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            found.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    return found


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.usefixtures("no_network")
def test_every_object_validates_against_the_pinned_schemas(
    rendered: Rendered, version: str
) -> None:
    found = problems(rendered, version)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.usefixtures("no_network")
def test_the_ingress_controller_s_configmap_validates(controller: Rendered, version: str) -> None:
    assert [obj["kind"] for obj in controller.objects] == ["ConfigMap"]
    found = problems(controller, version)
    assert not found, "\n".join(found)


@pytest.mark.usefixtures("no_network")
def test_the_validator_refuses_an_unknown_field(renders: dict[str, Rendered]) -> None:
    (deployment,) = renders["prod"].of_kind("Deployment")
    typo = copy.deepcopy(deployment)
    typo["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(deployment, version, strict=True)
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(typo, version, strict=True)
