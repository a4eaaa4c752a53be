"""The stack's roles on a test server, as the roles step sets them up.

Roles are cluster-wide, so they have test names, and one password each per session.
"""

from __future__ import annotations

import secrets

from sqlalchemy.engine import URL

from migrator.settings import RolesSettings
from migrator.steps.roles import set_up

OWNER_ROLE = "test_owner"
OWNER_PASSWORD = secrets.token_hex(12)
API_ROLE = "test_api"
API_PASSWORD = secrets.token_hex(12)
# The exporter's role has a fixed name (migrator.monitoring.EXPORTER_ROLE).
EXPORTER_PASSWORD = secrets.token_hex(12)


def as_owner(database_url: URL) -> URL:
    """The same database, reached as the schema owner (the migrator's role)."""
    return database_url.set(username=OWNER_ROLE, password=OWNER_PASSWORD)


def as_api_role(database_url: URL) -> URL:
    """The same database, reached as the API's row-only role."""
    return database_url.set(username=API_ROLE, password=API_PASSWORD)


def roles_settings(superuser_url: URL, **overrides: str | None) -> RolesSettings:
    settings = {
        "database_url": superuser_url.render_as_string(hide_password=False),
        "owner_db_user": OWNER_ROLE,
        "owner_db_password": OWNER_PASSWORD,
        "api_db_user": API_ROLE,
        "api_db_password": API_PASSWORD,
        "exporter_db_password": EXPORTER_PASSWORD,
    }
    return RolesSettings.load(**{**settings, **overrides})


def set_up_roles(superuser_url: URL, **overrides: str) -> None:
    """The roles step, in process, on the database of ``superuser_url``."""
    set_up(roles_settings(superuser_url, **overrides), wait_seconds=10)
