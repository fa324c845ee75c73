"""Where the project's data files live, and where the database defaults to."""

from __future__ import annotations

import os
from pathlib import Path

# The repository root: lexicons/, config/ and models/ are data files next to the package
# (the README installs the project editable, so they stay reviewable in the repo).
ROOT = Path(os.environ.get("QC_HOME", Path(__file__).resolve().parent.parent))
LEXICON_DIR = ROOT / "lexicons"
CONFIG_FILE = ROOT / "config" / "qc.yaml"
SQL_DIR = Path(__file__).resolve().parent / "sql"


def default_db_path(explicit: str | os.PathLike | None = None) -> Path:
    """`--db` beats `QC_DB`, which beats `./data/qc.duckdb` (DESIGN.md contract)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("QC_DB")
    if env:
        return Path(env)
    return Path.cwd() / "data" / "qc.duckdb"
