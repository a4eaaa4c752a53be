"""``migrator plan`` (``make plan``): what each pending revision will lock, on how many rows,
with a verdict, found by running it on a scratch copy of the schema (``observe``) and
judged against the live tables' sizes (``sizes``, ``verdicts``), printed by ``report``.
How it works, and what each verdict means: docs/schema-changes.md, "See it coming".
"""
