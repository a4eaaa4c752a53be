"""harness.databases.new_database: the one way the tests and the bench make a database."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import URL

from harness.databases import connect, new_database
from harness.processes import revision_of
from harness.revisions import BASE_REVISION
from harness.roles import as_api_role


def test_a_new_database_has_the_roles_and_the_revision_and_is_dropped_after(
    server_url: URL,
) -> None:
    with new_database(server_url, revision=BASE_REVISION, prefix="made") as url:
        assert str(url.database).startswith("made_")
        assert revision_of(url) == BASE_REVISION
        with connect(as_api_role(url)) as api:  # the roles step granted it CONNECT
            assert api.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        connect(url).close()


def test_a_copy_of_a_template_is_at_its_revision(server_url: URL, migrated_template: URL) -> None:
    with new_database(server_url, template=migrated_template) as url:
        assert revision_of(url) == revision_of(migrated_template)
        with connect(as_api_role(url)) as api:
            assert api.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_it_is_migrated_or_copied_not_both(server_url: URL, migrated_template: URL) -> None:
    with (
        pytest.raises(ValueError, match="not both"),
        new_database(server_url, revision="head", template=migrated_template),
    ):
        pass
