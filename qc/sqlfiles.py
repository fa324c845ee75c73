"""Run the SQL files in qc/sql: split into statements, bind only the parameters each uses.

Chat text never reaches SQL as a string literal: every value is a bound parameter.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .paths import SQL_DIR

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@lru_cache(maxsize=None)
def statements(name: str) -> tuple[str, ...]:
    text = (SQL_DIR / name).read_text(encoding="utf-8")
    # Our SQL files end each statement with ';' at the end of a line; none has ';' inside strings
    # at a line end.
    parts = re.split(r";\s*\n", text)
    out = []
    for p in parts:
        body = "\n".join(l for l in p.splitlines() if not l.strip().startswith("--")).strip().rstrip(";")
        if body:
            out.append(body)
    return tuple(out)


def run(con, name: str, params: dict | None = None):
    params = params or {}
    result = None
    for stmt in statements(name):
        used = set(_PARAM.findall(stmt))
        missing = used - params.keys()
        if missing:
            raise KeyError(f"{name}: missing SQL parameters {sorted(missing)}")
        result = con.execute(stmt, {k: params[k] for k in used} if used else None)
    return result
