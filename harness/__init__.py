"""The stack's real parts, run from the repository for the tests and the benchmark:
a throwaway PostgreSQL (postgres), fresh databases (databases) with the stack's roles
(roles), the migrator's alembic and the api's gunicorn as the images run them
(processes), a compose project of its own (compose), and load on the api, timed (load).
No pytest here: the benchmark imports it too."""
