"""A rule is one place (the sqlfluff meta-test), and the library never imports Prefect."""

import ast
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from qc.paths import PACKAGE, ROOT, RULE_SQL_DIR
from qc.rules import REGISTRY, RULES, Param
from qc.rules.check import problems

CONTRACT = {"forbidden_phrase", "missing_apology", "bargain_followup_late", "repeated_quick_reply",
            "slow_first_response", "slow_response"}

# What adding a rule touches — the README's list (between the markers) must say the same.
NEW_RULE_TOUCHES = [
    "qc/rules/<rule_id>.py",
    "qc/rules/sql/<rule_id>.sql",
    "qc/rules/__init__.py",
    "tests/rule_cases/<rule_id>.yaml",
    "docs/rules.md",
]


def test_contract_rule_ids_present():
    assert CONTRACT <= {r.id for r in RULES}


def test_registry_has_no_problems():
    assert problems(RULES, REGISTRY) == []


def test_docs_are_generated_from_the_registry():
    from qc.rules.doc import reference_markdown

    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == reference_markdown(), \
        "docs/rules.md is stale: run `qc rules --markdown > docs/rules.md`"


def test_readme_lists_what_a_new_rule_touches():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- new-rule-files -->")[1].split("<!-- /new-rule-files -->")[0]
    listed = [re.search(r"`([^`]+)`", l).group(1) for l in block.splitlines() if re.match(r"\s*\d+\.", l)]
    assert listed == NEW_RULE_TOUCHES


def test_config_overrides_the_declared_defaults(tmp_path):
    # (bad values against the declarations: tests/test_lexicon_config.py::test_bad_config)
    from qc.config import load_config

    p = tmp_path / "qc.yaml"
    p.write_text("rules:\n  bargain_followup_late: {window_s: 180}\n", encoding="utf-8")
    assert load_config(p).rule_params("bargain_followup_late") == {"window_s": 180, "bargain_threshold": 0.7}


# ---- the checks catch each way a rule can be spread out or incomplete -----------------


def _copy_tree(tmp_path):
    sql = tmp_path / "sql"
    sql.mkdir()
    for f in RULE_SQL_DIR.glob("*.sql"):
        (sql / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    cases = tmp_path / "cases"
    cases.mkdir()
    for f in (ROOT / "tests" / "rule_cases").glob("*.yaml"):
        (cases / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    return sql, cases


def test_checks_refuse_a_duplicate_id(tmp_path):
    sql, cases = _copy_tree(tmp_path)
    assert any("duplicate rule id" in p for p in problems(RULES + (RULES[0],), REGISTRY, sql, cases))


def test_checks_refuse_an_undeclared_parameter(tmp_path):
    sql, cases = _copy_tree(tmp_path)
    f = sql / "slow_response.sql"
    f.write_text(f.read_text(encoding="utf-8").replace("$limit_s", "$limit_seconds", 1), encoding="utf-8")
    out = problems(RULES, REGISTRY, sql, cases)
    assert any("$limit_seconds, which the rule does not declare" in p for p in out)


def test_checks_refuse_an_unused_parameter(tmp_path):
    sql, cases = _copy_tree(tmp_path)
    rules = tuple(replace(r, params=r.params + (Param("spare_s", int, 5),)) if r.id == "slow_response" else r for r in RULES)
    assert any("'spare_s' is declared but its SQL never uses it" in p for p in problems(rules, REGISTRY, sql, cases))


def test_checks_refuse_a_rule_without_cases(tmp_path):
    sql, cases = _copy_tree(tmp_path)
    (cases / "emoji_only_reply.yaml").unlink()
    assert any(p.startswith("emoji_only_reply: tests/rule_cases/emoji_only_reply.yaml needs") for p in problems(RULES, REGISTRY, sql, cases))


def test_checks_refuse_a_severity_literal_and_a_missing_sql(tmp_path):
    sql, cases = _copy_tree(tmp_path)
    f = sql / "unanswered_question.sql"
    f.write_text(f.read_text(encoding="utf-8").replace("$severity::VARCHAR", "'high'"), encoding="utf-8")
    (sql / "late_urge_to_pay.sql").unlink()
    out = problems(RULES, REGISTRY, sql, cases)
    assert any("unanswered_question: severity is written as a literal" in p for p in out)
    assert any("late_urge_to_pay: no SQL file" in p for p in out)


def test_checks_refuse_stray_files(tmp_path):
    sql, cases = _copy_tree(tmp_path)
    (sql / "address_unconfirmed.sql").write_text("-- Grain: x\nSELECT 1;\n", encoding="utf-8")
    (cases / "address_unconfirmed.yaml").write_text("rule: address_unconfirmed\ncases: []\n", encoding="utf-8")
    out = problems(RULES, REGISTRY, sql, cases)
    assert "qc/rules/sql/address_unconfirmed.sql belongs to no registered rule" in out
    assert "tests/rule_cases/address_unconfirmed.yaml belongs to no registered rule" in out
    assert any("not in REGISTRY" in p for p in problems(RULES, REGISTRY[:-1], sql, cases))


def test_case_files_name_their_rule_and_cases_uniquely(tmp_path):
    from qc.evaluate import CaseFileError, load_cases

    (tmp_path / "slow_response.yaml").write_text(
        "rule: slow_response\ncases:\n  - {name: 甲, kind: positive, conversation: {messages: []}}\n"
        "  - {name: 甲, kind: hard_negative, conversation: {messages: []}}\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="duplicate case name"):
        load_cases(tmp_path)
    (tmp_path / "slow_response.yaml").write_text("rule: slow_first_response\ncases: []\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="named after its rule"):
        load_cases(tmp_path)


# ---- the library never imports Prefect or the flows ------------------------------------


def test_qc_source_never_imports_prefect_or_pipelines():
    offenders = []
    for f in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            offenders += [f"{f.relative_to(PACKAGE.parent)}: {n}" for n in names
                          if n.split(".")[0] in ("prefect", "pipelines", "prefect_dask")]
    assert offenders == []


def test_importing_every_qc_module_loads_no_prefect():
    code = (
        "import pkgutil, importlib, sys, qc\n"
        "for m in pkgutil.walk_packages(qc.__path__, 'qc.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('prefect', 'pipelines'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_teaching_dismiss_reasons_are_offered_to_reviewers():
    # a reason that teaches a model must be one a reviewer can pick in the console
    from qc.config import load_config

    offered = load_config().review["dismiss_reasons"]
    for r in RULES:
        for reason in r.teaching_dismissals:
            assert reason in offered, (r.id, reason)
