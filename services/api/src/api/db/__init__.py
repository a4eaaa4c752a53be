"""Database plumbing: the worker's pool, statements compiled for asyncpg, keyset pages,
unique rules read from the models, and the readiness check. No HTTP in here."""
