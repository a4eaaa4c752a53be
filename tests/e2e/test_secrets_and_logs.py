"""Secrets out of the environment, each service reading only its own, none in a log; and
every line our processes log, a JSON object."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from typing import IO

import httpx
import pytest

from harness.compose import ComposeProject
from harness.paths import ROOT
from migrator.steps.secrets import SECRETS, SECRETS_DIR
from tests.api.factories import PASSWORD, log_in, user_body
from tests.support.logs import log_lines

pytestmark = pytest.mark.e2e

OUR_SERVICES = ["secrets", "roles", "migrator", "api"]
# Which password files each service may read (the rest it must not).
READS = {
    "roles": {"postgres_password", "owner_db_password", "api_db_password", "exporter_db_password"},
    "migrator": {"owner_db_password"},
    "api": {"api_db_password"},
    # The monitoring profile's, run here on its own (compose runs a service it is asked for).
    "postgres-exporter": {"exporter_db_password"},
}


def read_secret(stack: ComposeProject, service: str, file: str) -> subprocess.CompletedProcess[str]:
    return stack(
        "run", "--rm", "--no-deps", "-T", "--entrypoint", "cat", service, f"{SECRETS_DIR}/{file}",
        check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def passwords(stack: ComposeProject) -> list[str]:
    values = []
    for secret in SECRETS:
        result = read_secret(stack, "roles", secret.file)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout) >= 32
        values.append(result.stdout)
    return values


@pytest.mark.parametrize("service", list(READS))
def test_each_service_can_read_only_the_passwords_it_needs(
    stack: ComposeProject, service: str
) -> None:
    for secret in SECRETS:
        readable = read_secret(stack, service, secret.file).returncode == 0
        assert readable is (secret.file in READS[service]), (service, secret.file)


def test_no_password_is_in_any_containers_configuration(
    stack: ComposeProject, passwords: list[str]
) -> None:
    httpx.get(stack.base_url + "/readyz", timeout=10)
    for container in stack.container_ids():
        inspected = json.dumps(stack.inspect(container))
        for password in [*passwords, PASSWORD]:
            assert password not in inspected, f"a password is in docker inspect of {container}"
        environment = stack.inspect(container)["Config"]["Env"]
        assert not [line for line in environment if line.split("=")[0].endswith("PASSWORD")]


def images_of(stack: ComposeProject) -> set[str]:
    return {stack.inspect(container)["Image"] for container in stack.container_ids()}


def contains(stream: IO[bytes], needles: list[bytes]) -> bool:
    with tarfile.open(fileobj=stream, mode="r|*") as archive:
        for member in archive:
            if not member.isfile():
                continue
            content = archive.extractfile(member)
            if content is None:
                continue
            data = content.read()
            if member.name.endswith(".tar"):  # a layer of `docker save`
                if contains(io.BytesIO(data), needles):
                    return True
            elif any(needle in data for needle in needles):
                return True
    return False


def test_no_password_is_in_any_image(stack: ComposeProject, passwords: list[str]) -> None:
    needles = [password.encode() for password in passwords]
    for image in images_of(stack):
        history = subprocess.run(
            ["docker", "history", "--no-trunc", image], capture_output=True, text=True, check=True
        ).stdout
        assert not any(password in history for password in passwords), image
        saved = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        assert saved.stdout is not None
        try:
            assert not contains(saved.stdout, needles), f"a password is in the layers of {image}"
        finally:
            saved.stdout.close()
            saved.wait()


def test_no_password_is_in_any_log(stack: ComposeProject, passwords: list[str]) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        created = client.post("/users", json=user_body(username="logged"))
        assert created.status_code == 201, created.text
        log_in(client, "logged")
        client.get("/users/999999")
    stack.run("migrator", "current")
    logs = stack.logs()
    for password in passwords:
        assert password not in logs
    # Nor an account's password, or its hash (api.accounts).
    assert PASSWORD not in logs
    assert "$argon2" not in logs


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_every_line_our_services_log_is_a_json_object(stack: ComposeProject, service: str) -> None:
    httpx.get(stack.base_url + "/users/1", timeout=10)
    lines = log_lines(stack.service_log(service))
    assert lines, f"{service} logged nothing"
    assert {line["service"] for line in lines} == {"api" if service == "api" else service}


def test_the_development_migrator_can_read_the_owners_password_alone(
    stack: ComposeProject,
) -> None:
    """The override runs the migrator as you (HOST_UID), with the group of the owner's
    password: no other password is yours to read."""
    development = stack.with_file(ROOT / "compose.override.yaml")
    development.env = {**stack.env, "HOST_UID": "12345", "HOST_GID": "12345"}
    for secret in SECRETS:
        readable = read_secret(development, "migrator", secret.file).returncode == 0
        assert readable is (secret.file == "owner_db_password"), secret.file
