"""The review console: `qc web` (app.py), its working copy of the database (workcopy.py)
and its scoped queries (queries.py)."""
