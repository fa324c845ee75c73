"""The rule registry: the one list of rules. Adding a rule = its module in this folder
(metadata, parameters, examples), its SQL in sql/<id>.sql, one entry in `REGISTRY` below,
and its case file tests/rule_cases/<id>.yaml. tests/test_rules_meta.py refuses anything
else (a duplicate id, an undeclared parameter, a rule without cases or without SQL).
"""

from __future__ import annotations

from importlib import import_module

from .base import Param, Rule

# Order = the order findings are computed and listed in.
REGISTRY: tuple[str, ...] = (
    "forbidden_phrase",
    "missing_apology",
    "bargain_followup_late",
    "repeated_quick_reply",
    "slow_first_response",
    "slow_response",
    "emoji_only_reply",
    "late_urge_to_pay",
    "unanswered_question",
    "rude_tone",
)


def _load() -> tuple[Rule, ...]:
    rules = []
    for name in REGISTRY:
        rule = import_module(f"{__name__}.{name}").RULE
        if rule.id != name:
            raise ValueError(f"qc/rules/{name}.py declares id {rule.id!r}: the module is named after its rule id")
        rules.append(rule)
    if len({r.id for r in rules}) != len(rules):
        raise ValueError(f"duplicate rule ids in REGISTRY: {REGISTRY}")
    return tuple(rules)


RULES: tuple[Rule, ...] = _load()
BY_ID = {r.id: r for r in RULES}


def get(rule_id: str) -> Rule:
    return BY_ID[rule_id]


__all__ = ["RULES", "BY_ID", "REGISTRY", "Rule", "Param", "get"]
