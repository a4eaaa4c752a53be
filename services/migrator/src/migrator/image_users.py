"""The user and group ids the images run as, which the secrets step gives each password
file to. They are facts of the images, said again where each is used: services/Dockerfile
(the api and migrator stages' useradd and USER), compose.yaml (the roles step's
group_add, the exporter's user), compose.override.yaml (the migrator's user and
group_add), bench/compose.tutorial.yaml and deploy/kubernetes (runAsUser);
tests/compose/test_files.py and tests/deploy/kubernetes check they agree.
"""

API_UID = 10001  # the api image's user
MIGRATOR_UID = 10002  # the migrator image's user (the migrator and the roles step)
PROXY_UID = 99  # the haproxy image's user: it reads the certificate it serves
# Each password file's group: who may read it besides the service that logs in with it.
SUPERUSER_PASSWORD_GID = 10003  # the roles step
OWNER_PASSWORD_GID = 10004  # the roles step, and the development override's migrator
API_PASSWORD_GID = 10005  # the roles step
# The PostgreSQL exporter (monitoring profile): compose runs it as this user, not the
# image's `nobody`, which Prometheus and Alertmanager share.
EXPORTER_UID = 10006
EXPORTER_PASSWORD_GID = 10007  # the roles step
READER_GIDS = (SUPERUSER_PASSWORD_GID, OWNER_PASSWORD_GID, API_PASSWORD_GID, EXPORTER_PASSWORD_GID)
