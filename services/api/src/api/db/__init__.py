"""The API's database wing: the pool (pool), the statements' runner (query), what the
pool relies on in asyncpg (connections), readiness, and the pool's gauges."""
