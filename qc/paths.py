"""Every path the project uses, in one place.

Two roots, on purpose:
* PACKAGE — code that ships inside the `qc` package (SQL files). Always next to this file,
  whatever QC_HOME says: SQL is code, not configuration.
* ROOT — the project's reviewable data files (lexicons/, config/, models/, data/corpus/,
  tests/rule_cases/). `QC_HOME` points it elsewhere (a shop's own lexicons and config);
  the README installs the project editable, so by default they stay in the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SQL_DIR = PACKAGE / "sql"                    # ingest, conversations, scoring SQL
RULE_SQL_DIR = PACKAGE / "rules" / "sql"     # one file per rule: <rule_id>.sql

ROOT = Path(os.environ.get("QC_HOME") or PACKAGE.parent)
LEXICON_DIR = ROOT / "lexicons"
CONFIG_FILE = ROOT / "config" / "qc.yaml"
SCORECARD_FILE = ROOT / "config" / "scorecard.yaml"
MODELS_DIR = ROOT / "models"
CORPUS_DIR = ROOT / "data" / "corpus"
SAMPLE_DIR = ROOT / "data" / "sample"
CASES_DIR = ROOT / "tests" / "rule_cases"


def default_db_path(explicit: str | os.PathLike | None = None) -> Path:
    """`--db` beats `QC_DB`, which beats `./data/qc.duckdb` (DESIGN.md contract)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("QC_DB")
    if env:
        return Path(env)
    return Path.cwd() / "data" / "qc.duckdb"
