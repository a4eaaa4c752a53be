"""The one-shot steps around the migrator, each named like the compose service it runs as,
all in the migrator image. In start order:

- ``secrets`` (compose service ``secrets``, ``python -m migrator.steps.secrets``): a
  random password per role, made once and kept as files in the ``secrets`` volume, each
  readable only by the service that logs in with it and by the roles step;
- ``roles`` (compose service ``roles``, ``python -m migrator.steps.roles``): as the
  superuser, the schema owner and the API role exist as narrow login roles with their
  passwords, and the database exists, owned by the schema owner;
- (then the migrator itself: ``alembic upgrade head``, migrations/env.py and
  migrator.runner)
- ``seed`` (``make seed``, ``python -m migrator.steps.seed`` in the ``migrator``
  service's container): the same demo rows on every run and every machine, added once.

Each starts with shared_models.startup.start and exits 2 on a bad setting, before it
does anything.
"""
