"""Who holds the locks a migrator waits for: one query over pg_locks and
pg_stat_activity, for both the migration lock and table locks."""

from __future__ import annotations

from sqlalchemy import Connection, text

# Sessions holding a lock in this database, oldest transaction first. With :advisory_key,
# the holders of that advisory lock; without, the holders of table locks and of
# snapshots (which CREATE INDEX CONCURRENTLY waits for), catalog tables left out.
LOCK_HOLDERS = text(r"""
SELECT a.pid, a.application_name, a.usename, a.state,
       extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start))::int AS seconds,
       left(regexp_replace(a.query, '\s+', ' ', 'g'), 80) AS query,
       string_agg(l.mode || ' on ' || l.relation::regclass::text, ', '
                  ORDER BY l.relation::regclass::text) FILTER (WHERE l.locktype = 'relation')
           AS tables
FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE l.granted AND a.pid <> pg_backend_pid()
  AND (l.database IS NULL
       OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
  AND CASE WHEN CAST(:advisory_key AS bigint) IS NULL THEN
        l.locktype IN ('relation', 'virtualxid', 'transactionid')
        AND a.xact_start IS NOT NULL
        AND coalesce(l.relation::regclass::text, '') NOT LIKE 'pg\_%'
        AND (l.locktype = 'relation' OR a.backend_xmin IS NOT NULL)
      ELSE
        l.locktype = 'advisory'
        AND (l.classid::bigint << 32) | l.objid::bigint = CAST(:advisory_key AS bigint)
      END
GROUP BY a.pid, a.application_name, a.usename, a.state, a.xact_start, a.backend_start, a.query
ORDER BY min(a.xact_start), a.pid
LIMIT 10
""")


def lock_holders(connection: Connection, advisory_key: int | None = None) -> str:
    """The sessions holding locks, described for a person; "nobody" if none is left."""
    rows = connection.execute(LOCK_HOLDERS, {"advisory_key": advisory_key}).all()
    if not rows:
        return "nobody (the lock was released meanwhile)"
    described = []
    for row in rows:
        who = f"pid {row.pid} ({row.application_name or 'unnamed'}, {row.usename}"
        if advisory_key is None:
            who += f", {row.state} for {row.seconds}s, last query: {row.query!r}"
        described.append(who + ")" + (f", {row.tables}" if row.tables else ""))
    return "; ".join(described)
