"""A client generated from the live OpenAPI document works as is: openapi-python-client
writes it without a warning, mypy --strict accepts it, and it drives the API through
create, read, paging, update and delete, errors included, with typed models throughout.

The client is generated into a temporary directory on every run; none is committed."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

from api.http.ids import MAX_ID
from api.main import ROUTERS
from harness.processes import RunningApi
from tests.api.factories import PASSWORD, unique

# openapi-python-client names the package after the document's title, "Users and posts API".
PACKAGE = "users_and_posts_api_client"
# The venv's bin: its ruff is the project's, pinned by uv.lock.
VENV_BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    )
    return result


@pytest.fixture(scope="module")
def generated(api_server: RunningApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The client of the running API's document, importable while the module's tests run."""
    work = tmp_path_factory.mktemp("client")
    project = work / "client"
    # The generator runs `ruff check --fix-only` and `ruff format` on what it wrote, found
    # on PATH (a missing ruff is a warning, so a failure here): the project's own first.
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    assert shutil.which("ruff", path=path) == str(VENV_BIN / "ruff")
    generate = [sys.executable, "-m", "openapi_python_client", "generate", "--fail-on-warning"]
    document = f"{api_server.base_url}/openapi.json"
    run([*generate, "--url", document, "--output-path", str(project)], cwd=work, PATH=path)
    package = project / PACKAGE
    assert (package / "py.typed").is_file()
    # Strict, on the generated package alone: `--config-file=` keeps this repository's
    # settings (its files, plugins and paths) out of it.
    mypy = [sys.executable, "-m", "mypy", "--strict", "--config-file="]
    checked = run([*mypy, "--cache-dir", str(work / "mypy-cache"), str(package)], cwd=project)
    assert "Success: no issues found" in checked.stdout, checked.stdout
    sys.path.insert(0, str(project))
    try:
        yield package
    finally:
        sys.path.remove(str(project))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


def documented_routes(router: APIRouter) -> list[APIRoute]:
    return [r for r in router.routes if isinstance(r, APIRoute) and r.include_in_schema]


def test_every_operation_is_a_module_named_by_its_tag_and_function(generated: Path) -> None:
    for router in ROUTERS:
        (tag,) = router.tags
        for route in documented_routes(router):
            module = importlib.import_module(f"{PACKAGE}.api.{tag}.{route.name}")
            for function in ("sync", "sync_detailed", "asyncio", "asyncio_detailed"):
                assert callable(getattr(module, function)), (module.__name__, function)
    endpoints = {path.stem for path in generated.glob("api/*/*.py") if path.stem != "__init__"}
    assert len(endpoints) == sum(len(documented_routes(router)) for router in ROUTERS)


def next_after(link: str, limit: int) -> int:
    """The ``after`` of a Link rel="next" header, which must keep the page size."""
    match = re.fullmatch(r'<(?P<url>[^>]+)>; rel="next"', link)
    assert match, link
    params = httpx.URL(match["url"]).params
    assert params["limit"] == str(limit)
    return int(params["after"])


def test_a_generated_client_drives_the_api(generated: Path, api_server: RunningApi) -> None:
    # Imported here, once the fixture generated the package: mypy checked it above, and
    # this repository's mypy cannot see it.
    from users_and_posts_api_client import (  # type: ignore[import-not-found]
        AuthenticatedClient,
        Client,
    )
    from users_and_posts_api_client.api.accounts import log_in  # type: ignore[import-not-found]
    from users_and_posts_api_client.api.posts import (  # type: ignore[import-not-found]
        create_post,
        delete_post,
        list_posts,
        list_user_posts,
    )
    from users_and_posts_api_client.api.users import (  # type: ignore[import-not-found]
        create_user,
        delete_user,
        get_user,
        list_users,
        update_user,
    )
    from users_and_posts_api_client.models import (  # type: ignore[import-not-found]
        BodyLogIn,
        ErrorOut,
        PostCreate,
        PostOut,
        UserCreate,
        UserOut,
        UserUpdate,
    )

    def new_user() -> UserCreate:
        name = unique("client")
        return UserCreate(username=name, email=f"{name}@example.com", password=PASSWORD)

    def as_owner(client: Any, user: Any) -> Any:
        """A client carrying the user's token, got through the typed log_in."""
        form = BodyLogIn(username=user.username, password=PASSWORD)
        token = log_in.sync(client=client, body=form)
        assert token.token_type == "bearer", token
        return AuthenticatedClient(base_url=api_server.base_url, token=token.access_token)

    # An undocumented status raises instead of parsing to None.
    with Client(base_url=api_server.base_url, raise_on_unexpected_status=True) as client:
        body = new_user()
        user = create_user.sync(client=client, body=body)
        assert isinstance(user, UserOut)
        assert (user.username, user.email, user.bio) == (body.username, body.email, None)
        assert get_user.sync(client=client, user_id=user.id) == user

        # Paging: follow each Link rel="next" through the typed list's after and limit.
        others = [create_user.sync(client=client, body=new_user()) for _ in range(2)]
        ours = [user.id, *(other.id for other in others)]
        pages: list[list[int]] = []
        after = user.id - 1
        while True:
            page = list_users.sync_detailed(client=client, after=after, limit=2)
            assert page.status_code == HTTPStatus.OK
            assert isinstance(page.parsed, list)
            pages.append([listed.id for listed in page.parsed])
            link = page.headers.get("link")
            if link is None:
                break
            after = next_after(link, 2)
        assert [listed for page_ids in pages for listed in page_ids][:3] == ours
        assert pages[0] == ours[:2]
        assert all(len(page_ids) == 2 for page_ids in pages[:-1])

        owner = as_owner(client, user)
        refused = update_user.sync_detailed(client=client, user_id=user.id, body=UserUpdate())
        assert refused.status_code == HTTPStatus.UNAUTHORIZED
        changed = update_user.sync(client=owner, user_id=user.id, body=UserUpdate(bio="Hi"))
        assert isinstance(changed, UserOut)
        assert (changed.username, changed.bio) == (user.username, "Hi")

        post = create_post.sync(
            client=owner, user_id=user.id, body=PostCreate(title="Hello", content="First post")
        )
        assert isinstance(post, PostOut)
        assert post.user_id == user.id
        assert isinstance(post.date_posted, datetime)
        assert list_user_posts.sync(client=client, user_id=user.id) == [post]
        # The author filter is an optional integer: given, only theirs; left out, everyone's.
        assert list_posts.sync(client=client, user_id=user.id) == [post]
        everyone = list_posts.sync(client=client, after=post.id - 1, limit=1)
        assert everyone == [post]

        missing = get_user.sync_detailed(client=client, user_id=MAX_ID)
        assert missing.status_code == HTTPStatus.NOT_FOUND
        assert missing.parsed == ErrorOut(detail="User not found")

        taken = UserCreate(username=user.username, email=f"other-{user.email}", password=PASSWORD)
        duplicate = create_user.sync_detailed(client=client, body=taken)
        assert duplicate.status_code == HTTPStatus.CONFLICT
        assert isinstance(duplicate.parsed, ErrorOut)
        assert duplicate.parsed.detail == "username is already taken"

        deleted = delete_post.sync_detailed(client=owner, post_id=post.id)
        assert deleted.status_code == HTTPStatus.NO_CONTENT
        assert list_user_posts.sync(client=client, user_id=user.id) == []

        for each in (user, *others):
            gone = delete_user.sync_detailed(client=as_owner(client, each), user_id=each.id)
            assert gone.status_code == HTTPStatus.NO_CONTENT
        assert get_user.sync(client=client, user_id=user.id) == ErrorOut(detail="User not found")
