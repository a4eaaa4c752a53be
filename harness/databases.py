"""Fresh databases on a test server, one per purpose, so tests never share a schema by
accident: ``new_database`` makes one with the stack's roles, migrated or copied, and
drops it after."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from harness.processes import alembic
from harness.roles import set_up_roles
from migrator.settings import plan_database


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def admin_execute(server_url: URL, statement: sql.Composed) -> None:
    with psycopg.connect(_dsn(server_url), autocommit=True) as connection:
        connection.execute(statement)


def create_database(server_url: URL, prefix: str = "test", template: URL | None = None) -> URL:
    """A new database on ``server_url``'s server; with ``template``, a copy of that one
    (which nobody may be connected to meanwhile)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template.database or ""))
    admin_execute(server_url, statement)
    return server_url.set(database=name)


def drop_database(database_url: URL) -> None:
    """The database, and its scratch copy for `make plan` if the roles step made one."""
    server_url = database_url.set(database="postgres")
    name = database_url.database or ""
    for database in (name, plan_database(name)):
        admin_execute(
            server_url,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)),
        )


def connect(database_url: URL) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_dsn(database_url), autocommit=True)


@contextmanager
def new_database(
    server_url: URL,
    *,
    revision: str | None = None,
    template: URL | None = None,
    prefix: str = "test",
) -> Iterator[URL]:
    """A database on ``server_url``'s server with the stack's roles (the roles step ran on
    it), dropped on the way out. Its schema: none; the real migrator's ``upgrade
    revision``; or a copy of ``template``'s (tables, grants, alembic_version), which is
    seconds faster than migrating and needs nobody connected to ``template``."""
    if revision is not None and template is not None:
        raise ValueError("a database is migrated or copied from a template, not both")
    url = create_database(server_url, prefix, template)
    try:
        set_up_roles(url)  # on a copy too: its own CONNECT grants
        if revision is not None:
            alembic(url, "upgrade", revision)
        yield url
    finally:
        drop_database(url)
