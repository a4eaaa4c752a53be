"""The one-shot steps around the migrator, in its image, each named like the compose
service it runs as: ``secrets`` (a random password per role, made once), ``roles`` (as
the superuser: the owner and API roles, the database and its scratch copy) and ``seed``
(``make seed``: the demo rows). Each starts with shared_models.startup.start and exits 2
on a bad setting, before it does anything.
"""
