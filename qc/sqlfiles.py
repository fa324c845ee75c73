"""The one SQL runner: files of SQL statements, each bound only to the parameters it uses.

Chat text never reaches SQL as a string literal: every value is a bound `$name` parameter.
Used for qc/sql/*.sql (ingest, conversations, scoring) and qc/rules/sql/*.sql (rules).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .paths import SQL_DIR

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@lru_cache(maxsize=None)
def statements(name: str | Path) -> tuple[str, ...]:
    """The statements of a SQL file (`name` relative to qc/sql/, or a path), comments
    removed. Our SQL files end each statement with ';' at the end of a line; none has ';'
    inside a string at a line end."""
    path = name if isinstance(name, Path) else SQL_DIR / name
    text = path.read_text(encoding="utf-8")
    out = []
    for p in re.split(r";\s*\n", text + "\n"):
        body = "\n".join(l for l in p.splitlines() if not l.strip().startswith("--")).strip().rstrip(";")
        if body:
            out.append(body)
    return tuple(out)


def parameters(sql: str) -> set[str]:
    return set(_PARAM.findall(sql))


def execute(con, sql: str, params: dict | None = None, where: str = "<sql>"):
    """Run one statement, binding the parameters it names (a missing one is a KeyError
    naming `where`, never a silent NULL)."""
    params = params or {}
    used = parameters(sql)
    missing = used - params.keys()
    if missing:
        raise KeyError(f"{where}: missing SQL parameters {sorted(missing)}")
    return con.execute(sql, {k: params[k] for k in used} if used else None)


def run(con, name: str | Path, params: dict | None = None):
    result = None
    for stmt in statements(name):
        result = execute(con, stmt, params, where=str(name))
    return result
