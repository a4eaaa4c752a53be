"""The user and group ids the images run as, which the secrets step gives each password
file to. They are facts of the images, so each must match these lines:

- API_UID (10001): services/api/Dockerfile, ``groupadd --system --gid 10001 api``,
  ``useradd --system --uid 10001`` and ``USER 10001:10001``; bench/compose.tutorial.yaml,
  ``user: "10001:10001"``; deploy/kubernetes/base/api-deployment.yaml, ``runAsUser``;
- MIGRATOR_UID (10002): services/migrator/Dockerfile, ``groupadd --system --gid 10002
  migrator``, ``useradd --system --uid 10002`` and ``USER 10002:10002``;
  compose.override.yaml, the migrator's ``user:`` default; deploy/kubernetes's migrator
  and roles Jobs, ``runAsUser``;
- SECRETS_GID (10003): compose.yaml, the roles service's ``group_add: ["10003"]``;
  compose.override.yaml, the migrator's ``group_add: ["10003"]``.

tests/test_compose_files.py checks them against the Dockerfiles and the rendered compose
files, tests/kubernetes against the manifests.
"""

API_UID = 10001  # the api image's user
MIGRATOR_UID = 10002  # the migrator image's user (the migrator and the roles step)
SECRETS_GID = 10003  # the roles step's extra group (compose: group_add)
