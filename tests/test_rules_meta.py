"""Every rule documents itself and is tested (the sqlfluff meta-test)."""

import re

import pytest

from qc.config import RULE_PARAMS, load_config
from qc.inspect import RULE_SQL_DIR
from qc.paths import ROOT
from qc.rules import RULES

CONTRACT = {"forbidden_phrase", "missing_apology", "bargain_followup_late", "repeated_quick_reply",
            "slow_first_response", "slow_response"}


def test_contract_rule_ids_present():
    assert CONTRACT <= {r.id for r in RULES}
    assert len({r.id for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_is_documented_and_tested(rule):
    import importlib

    mod = importlib.import_module(f"qc.rules.{rule.id}")
    doc = mod.__doc__ or ""
    assert "违规" in doc and "合规" in doc, "docstring needs a violating and a compliant example"
    assert rule.violating and rule.compliant and rule.description
    sql = (RULE_SQL_DIR / rule.sql).read_text(encoding="utf-8")
    assert re.search(r"Grain:", sql), "the SQL must state its grain"
    assert rule.id in RULE_PARAMS and rule.id in load_config().rules
    assert set(rule.params) == set(RULE_PARAMS[rule.id])
    from qc.evaluate import load_cases

    kinds = {c["kind"] for c in load_cases().get(rule.id, [])}
    assert {"positive", "hard_negative"} <= kinds
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8").count(f"`{rule.id}`") >= 1
