"""``make plan``: what each pending revision will lock, on how many rows, before it runs.

1. The target database is read, and only read: its revision and its tables' sizes from
   the catalog (pg_class, pg_stat_user_tables), which takes no lock on any table
   (``sizes``).
2. A scratch database (``<POSTGRES_DB>_plan``, made by the roles step) is emptied and
   migrated to the target's revision, so it has the same schema; then the pending
   revisions run on it, observed statement by statement (``observe``): PostgreSQL itself
   says which locks each statement holds (pg_locks, read inside its transaction) and
   whether it rewrites or scans a table (its DEBUG1 messages: "rewriting table",
   "verifying table", "building index", "validating foreign key constraint"). A statement
   that cannot run in a transaction (CREATE INDEX CONCURRENTLY and the like) is reported
   from what it is; a backfill (migrator.backfill) is reported, not run.
3. Each statement gets a verdict from what it holds, what it reads and the live sizes
   (``verdicts``): safe; blocks writes on N rows; blocks reads and writes on N rows;
   rewrites N rows. Printed for a person, or as JSON (``report``).
"""
