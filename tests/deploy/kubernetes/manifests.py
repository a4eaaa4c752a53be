"""The Kubernetes overlays as `kubectl kustomize` renders them, and readers for the tests.

Rendering is offline: kustomize reads only deploy/kubernetes and services/monitoring
(the monitoring component's ConfigMaps). It works on a copy of both, so
the dev overlay can be given throwaway passwords (its secrets/ is git-ignored) and
prod can be rendered with the roles component switched on, as its README describes.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.paths import ROOT

Obj = dict[str, Any]

DEPLOY = ROOT / "deploy" / "kubernetes"
MONITORING = ROOT / "services" / "monitoring"
DEV_SECRETS_SCRIPT = Path("overlays/dev/make-secrets.sh")
# What the tests render: the two overlays, and prod with the roles Job included.
VARIANTS = ("dev", "prod", "prod+roles")
ROLES_COMPONENT = "../../components/roles"
# The ingress-nginx controller's ConfigMap: a kustomization of its own, in the
# controller's namespace, which the prod overlay's `namespace:` would rewrite.
CONTROLLER = Path("ingress-nginx")
# kubectl 1.27+ (kustomize v5): `labels`, `components`, `replacements`, `patches`.
MIN_KUSTOMIZE = (5, 0)


def kustomize_version(kubectl: str) -> tuple[int, int] | None:
    result = subprocess.run(
        [kubectl, "version", "--client", "--output=json"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        return None
    version = json.loads(result.stdout).get("kustomizeVersion", "")
    match = re.match(r"v?(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


def kubectl_or_skip() -> str:
    """kubectl with kustomize v5; skipped without one, except in CI, which must render."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        problem = "kubectl is not installed (apt-get install kubernetes-client)"
    elif (version := kustomize_version(kubectl)) is None or version < MIN_KUSTOMIZE:
        have = "v{}.{}".format(*version) if version else "an older one"
        problem = f"{kubectl} has no kustomize v5 (kubectl 1.27 or newer), but {have}"
    else:
        return kubectl
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must render the Kubernetes overlays, but {problem}")
    pytest.skip(problem)


def copy_of_deploy(destination: Path) -> Path:
    """deploy/kubernetes without anyone's real dev passwords, given throwaway ones."""
    tree = destination / "deploy" / "kubernetes"
    shutil.copytree(DEPLOY, tree, ignore=shutil.ignore_patterns("secrets"))
    # Where the monitoring component finds it, as in the repository.
    shutil.copytree(MONITORING, destination / "services" / "monitoring")
    subprocess.run(["sh", str(tree / DEV_SECRETS_SCRIPT)], capture_output=True, check=True)
    kustomization = tree / "overlays" / "prod" / "kustomization.yaml"
    with_roles = yaml.safe_load(kustomization.read_text())
    with_roles["components"] = [*with_roles.get("components", []), ROLES_COMPONENT]
    (tree / "overlays" / "prod+roles").mkdir()
    for path in kustomization.parent.iterdir():
        shutil.copy(path, tree / "overlays" / "prod+roles" / path.name)
    (tree / "overlays" / "prod+roles" / "kustomization.yaml").write_text(yaml.safe_dump(with_roles))
    return tree


def render(kubectl: str, tree: Path, variant: str) -> list[Obj]:
    return render_directory(kubectl, tree, Path("overlays") / variant)


def render_directory(kubectl: str, tree: Path, directory: Path) -> list[Obj]:
    result = subprocess.run(
        [kubectl, "kustomize", str(tree / directory)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, f"kubectl kustomize {directory}:\n{result.stderr}"
    return [document for document in yaml.safe_load_all(result.stdout) if document]


# --- reading the rendered objects ---------------------------------------------------


def labels_of(obj: Obj) -> dict[str, str]:
    labels: dict[str, str] = obj.get("metadata", {}).get("labels", {})
    return labels


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions) against a pod's labels."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


@dataclass(frozen=True)
class Workload:
    """A Deployment, StatefulSet or Job, and what its pods are."""

    obj: Obj

    @property
    def kind(self) -> str:
        return str(self.obj["kind"])

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def app(self) -> str:
        """What runs in it: api, migrator, roles, postgres (app.kubernetes.io/name)."""
        return self.pod_labels["app.kubernetes.io/name"]

    @property
    def pod_labels(self) -> dict[str, str]:
        return labels_of(self.obj["spec"]["template"])

    @property
    def pod(self) -> Obj:
        spec: Obj = self.obj["spec"]["template"]["spec"]
        return spec

    @property
    def containers(self) -> list[Obj]:
        return [*self.pod.get("initContainers", []), *self.pod["containers"]]

    def port_number(self, port: int | str) -> int:
        """A port of the pods, by number or by a container port's name."""
        if isinstance(port, int):
            return port
        for container in self.containers:
            for declared in container.get("ports", []):
                if declared.get("name") == port:
                    return int(declared["containerPort"])
        raise AssertionError(f"{self.name}: no container port named {port}")


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


@dataclass(frozen=True)
class Rendered:
    variant: str
    objects: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str, name: str) -> Obj:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.variant}: {len(found)} {kind} named {name}"
        return found[0]

    @property
    def workloads(self) -> list[Workload]:
        return [Workload(obj) for obj in self.objects if obj["kind"] in WORKLOAD_KINDS]

    def workloads_of(self, app: str) -> list[Workload]:
        return [workload for workload in self.workloads if workload.app == app]

    def workload(self, app: str) -> Workload:
        found = self.workloads_of(app)
        assert len(found) == 1, f"{self.variant}: {len(found)} workloads of {app}"
        return found[0]

    def config_map(self, name: str) -> Obj:
        return self.one("ConfigMap", name)

    def environment(self, container: Obj) -> dict[str, str | None]:
        """Every variable the container gets: ConfigMaps (envFrom) first, then `env`,
        which wins; None for a value taken from elsewhere (valueFrom)."""
        variables: dict[str, str | None] = {}
        for source in container.get("envFrom", []):
            assert "configMapRef" in source, f"{container['name']}: envFrom {source}"
            data = self.config_map(source["configMapRef"]["name"]).get("data", {})
            prefix = source.get("prefix", "")
            variables.update({prefix + key: str(value) for key, value in data.items()})
        for variable in container.get("env", []):
            value = variable.get("value")
            variables[variable["name"]] = None if value is None else str(value)
        return variables

    def config_map_keys(self, container: Obj) -> Iterator[tuple[str, str]]:
        """(ConfigMap name, key) of every key the container gets through envFrom."""
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                name = source["configMapRef"]["name"]
                for key in self.config_map(name).get("data", {}):
                    yield name, source.get("prefix", "") + key

    def pods_selected_by(self, selector: Obj) -> list[Workload]:
        return [workload for workload in self.workloads if selects(selector, workload.pod_labels)]


# --- small facts ----------------------------------------------------------------------


IMAGE = re.compile(r"^(?P<name>[^@]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>\S+))?$")


def image_tag(image: str) -> tuple[str | None, str | None]:
    """(tag, digest) of an image reference; a registry's port is no tag."""
    match = IMAGE.match(image)
    assert match is not None, image
    return match["tag"], match["digest"]


def quantity_cores(value: str | int | float) -> float:
    text = str(value)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity_bytes(value: str | int) -> int:
    """A memory quantity (``512Mi``, ``1Gi``, plain bytes) in bytes."""
    text = str(value)
    for suffix, factor in BINARY_SUFFIXES.items():
        if text.endswith(suffix):
            return int(text.removesuffix(suffix)) * factor
    return int(text)


def surge_pods(deployment: Obj, replicas: int) -> int:
    """Pods a rolling update adds on top of `replicas` (maxSurge, a number or a %)."""
    surge = deployment["spec"]["strategy"]["rollingUpdate"].get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(replicas * int(surge[:-1]) / 100)
    return int(surge)
