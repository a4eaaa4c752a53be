"""The database connections an overlay can open at its peak, against what the server allows."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from api.settings import ApiSettings, ServerSettings
from tests.deploy.kubernetes.manifests import Obj, Rendered, surge_pods
from tests.deploy.kubernetes.settings import load

# Declared on the `database` ConfigMap: what the server allows, where no in-cluster
# server's arguments say it (prod), and what is kept for administrators.
MAX_CONNECTIONS = "fastapi-stack/max-connections"
RESERVED_CONNECTIONS = "fastapi-stack/reserved-connections"
# migrator.runner: the advisory lock's connection and the migration's. The roles step
# connects once at a time, and runs in every install (by a Job or by an administrator).
MIGRATOR_CONNECTIONS = 2
ROLES_CONNECTIONS = 1
# PostgreSQL's default superuser_reserved_connections: the reserve must cover it.
SUPERUSER_RESERVED_DEFAULT = 3


@dataclass(frozen=True)
class Budget:
    max_replicas: int  # the HPA's
    surge: int  # the rolling update's extra pods, at maxReplicas
    workers: int  # WEB_CONCURRENCY
    pool: int  # DB_POOL_SIZE
    overflow: int  # DB_POOL_MAX_OVERFLOW
    migrator: int
    roles: int
    reserved: int
    max_connections: int
    superuser_reserved: int

    @property
    def api(self) -> int:
        return (self.max_replicas + self.surge) * self.workers * (self.pool + self.overflow)

    @property
    def used(self) -> int:
        return self.api + self.migrator + self.roles + self.reserved

    def line(self) -> str:
        """As the README states it."""
        return (
            f"(maxReplicas {self.max_replicas} + maxSurge {self.surge}) x WEB_CONCURRENCY "
            f"{self.workers} x (DB_POOL_SIZE {self.pool} + DB_POOL_MAX_OVERFLOW "
            f"{self.overflow}) + migrator {self.migrator} + roles {self.roles} + reserve "
            f"{self.reserved} = {self.used} ≤ max_connections {self.max_connections}"
        )


def server_arguments(rendered: Rendered) -> dict[str, str]:
    """`-c name=value` arguments of an in-cluster PostgreSQL, if there is one."""
    found: dict[str, str] = {}
    for workload in rendered.workloads_of("postgres"):
        args = [arg for container in workload.containers for arg in container.get("args", [])]
        for flag, setting in itertools.pairwise(args):
            if flag == "-c" and (match := re.fullmatch(r"(\w+)=(.*)", setting)):
                found[match[1]] = match[2]
    return found


def annotated(rendered: Rendered, key: str) -> list[Obj]:
    return [obj for obj in rendered.objects if key in obj["metadata"].get("annotations", {})]


def annotation(rendered: Rendered, key: str) -> int | None:
    objects = annotated(rendered, key)
    assert len(objects) <= 1, f"{rendered.variant}: {key} declared {len(objects)} times"
    return int(objects[0]["metadata"]["annotations"][key]) if objects else None


def budget(rendered: Rendered) -> Budget:
    api = rendered.workload("api")
    (container,) = api.pod["containers"]
    environment = rendered.environment(container)
    server = load(ServerSettings, "api", environment)
    pool = load(ApiSettings, "api", environment)
    hpa = rendered.one("HorizontalPodAutoscaler", "api")
    max_replicas = int(hpa["spec"]["maxReplicas"])

    arguments = server_arguments(rendered)
    declared = annotation(rendered, MAX_CONNECTIONS)
    if "max_connections" in arguments:
        assert declared is None, f"{rendered.variant}: max_connections both set and declared"
        max_connections = int(arguments["max_connections"])
    else:
        assert declared is not None, (
            f"{rendered.variant}: declare the database's max_connections ({MAX_CONNECTIONS})"
        )
        max_connections = declared
    reserved = annotation(rendered, RESERVED_CONNECTIONS)
    assert reserved is not None, f"{rendered.variant}: no {RESERVED_CONNECTIONS}"

    return Budget(
        max_replicas=max_replicas,
        surge=surge_pods(api.obj, max_replicas),
        workers=server.web_concurrency,
        pool=pool.db_pool_size,
        overflow=pool.db_pool_max_overflow,
        migrator=MIGRATOR_CONNECTIONS * max(1, len(rendered.workloads_of("migrator"))),
        roles=ROLES_CONNECTIONS,
        reserved=reserved,
        max_connections=max_connections,
        superuser_reserved=int(
            arguments.get("superuser_reserved_connections", SUPERUSER_RESERVED_DEFAULT)
        ),
    )
