"""What released revisions compute, frozen as they shipped: one module per revision, named
for it, importing only the standard library and SQLAlchemy. A module here is never
edited: a new rule is a new revision, with a module of its own."""
