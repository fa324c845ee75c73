"""The registry's own checks: what makes a rule "one place". tests/test_rules_meta.py runs
them on the real registry (no problem allowed) and on broken ones (each must be caught).

A rule is complete when: its module is named after its id and listed once in REGISTRY;
its docstring shows a violating and a compliant example; its SQL file exists, is one
statement that states its grain, takes severity as `$severity` (no literal), and uses
only parameters the rule declares (plus the engine's); every declared parameter is used;
and its case file exists with positive and hard-negative cases.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..paths import CASES_DIR, RULE_SQL_DIR
from .base import ENGINE_PARAMS, Rule

RULES_DIR = Path(__file__).resolve().parent
NOT_RULES = {"__init__", "base", "check", "doc"}
_SEVERITY_LITERAL = re.compile(r"'(low|medium|high|redline)'\s+AS\s+severity", re.I)


def problems(rules: tuple[Rule, ...], registry: tuple[str, ...], sql_dir: Path = RULE_SQL_DIR,
             cases_dir: Path = CASES_DIR, modules_dir: Path = RULES_DIR, docs: dict[str, str] | None = None) -> list[str]:
    from .. import sqlfiles
    from ..evaluate import load_cases

    out: list[str] = []
    ids = [r.id for r in rules]
    for rid in {i for i in ids if ids.count(i) > 1}:
        out.append(f"duplicate rule id {rid!r}")
    for name in {n for n in registry if registry.count(n) > 1}:
        out.append(f"REGISTRY lists {name!r} twice")
    modules = {p.stem for p in modules_dir.glob("*.py")} - NOT_RULES
    for m in sorted(modules - set(registry)):
        out.append(f"qc/rules/{m}.py is not in REGISTRY (qc/rules/__init__.py)")
    for f in sorted(sql_dir.glob("*.sql")):
        if f.stem not in ids:
            out.append(f"qc/rules/sql/{f.name} belongs to no registered rule")
    try:
        cases = load_cases(cases_dir)
    except Exception as exc:       # a malformed case file is a problem to report, not a crash
        out.append(str(exc))
        cases = {}
    for rid in sorted(set(cases) - set(ids)):
        out.append(f"tests/rule_cases/{rid}.yaml belongs to no registered rule")
    for r in rules:
        doc = (docs or {}).get(r.id)
        if doc is None and (modules_dir / f"{r.id}.py").exists():
            from importlib import import_module

            doc = import_module(f"qc.rules.{r.id}").__doc__ or ""
        if not doc or "违规" not in doc or "合规" not in doc:
            out.append(f"{r.id}: the module docstring needs a violating (违规) and a compliant (合规) example")
        if not (r.violating and r.compliant and r.description):
            out.append(f"{r.id}: description, violating and compliant examples are required")
        path = sql_dir / r.sql
        if not path.exists():
            out.append(f"{r.id}: no SQL file qc/rules/sql/{r.sql}")
        else:
            text = path.read_text(encoding="utf-8")
            stmts = sqlfiles.statements(path)
            if len(stmts) != 1:
                out.append(f"{r.id}: its SQL must be exactly one SELECT statement, found {len(stmts)}")
            if "Grain:" not in text:
                out.append(f"{r.id}: its SQL must state its grain (-- Grain: one row per ...)")
            if _SEVERITY_LITERAL.search(text):
                out.append(f"{r.id}: severity is written as a literal in its SQL; use $severity (declared in the module)")
            used = set().union(*(sqlfiles.parameters(s) for s in stmts)) if stmts else set()
            declared = {p.name for p in r.params}
            for p in sorted(used - declared - set(ENGINE_PARAMS)):
                out.append(f"{r.id}: its SQL uses ${p}, which the rule does not declare")
            for p in sorted(declared - used):
                out.append(f"{r.id}: parameter {p!r} is declared but its SQL never uses it")
            if r.severity is not None and "$severity" not in text:
                out.append(f"{r.id}: declares severity {r.severity!r} but its SQL does not use $severity")
        kinds = {c.get("kind") for c in cases.get(r.id, [])}
        if not {"positive", "hard_negative"} <= kinds:
            out.append(f"{r.id}: tests/rule_cases/{r.id}.yaml needs positive and hard_negative cases (has {sorted(k for k in kinds if k)})")
    return out
