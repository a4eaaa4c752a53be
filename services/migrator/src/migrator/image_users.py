"""The user and group ids the images run as, which the secrets step gives each password
file to. They are facts of the images, so each must match these lines:

- API_UID (10001): services/api/Dockerfile, ``groupadd --system --gid 10001 api``,
  ``useradd --system --uid 10001`` and ``USER 10001:10001``; bench/compose.tutorial.yaml,
  ``user: "10001:10001"``; deploy/kubernetes/base/api-deployment.yaml, ``runAsUser``;
- MIGRATOR_UID (10002): services/migrator/Dockerfile, ``groupadd --system --gid 10002
  migrator``, ``useradd --system --uid 10002`` and ``USER 10002:10002``;
  compose.override.yaml, the migrator's ``user:`` default; deploy/kubernetes's migrator
  and roles Jobs, ``runAsUser``;
- each password file's reader group (10003, 10004, 10005): compose.yaml, the roles
  service's ``group_add`` (it reads all three); compose.override.yaml, the migrator's
  ``group_add`` (the owner's alone: it runs as you, to write revision files as you).

tests/test_compose_files.py checks them against the Dockerfiles and the rendered compose
files, tests/kubernetes against the manifests.
"""

API_UID = 10001  # the api image's user
MIGRATOR_UID = 10002  # the migrator image's user (the migrator and the roles step)
# Each password file's group: who may read it besides the service that logs in with it.
SUPERUSER_PASSWORD_GID = 10003  # the roles step
OWNER_PASSWORD_GID = 10004  # the roles step, and the development override's migrator
API_PASSWORD_GID = 10005  # the roles step
READER_GIDS = (SUPERUSER_PASSWORD_GID, OWNER_PASSWORD_GID, API_PASSWORD_GID)
