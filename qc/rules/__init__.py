"""The rule registry. Rules are listed explicitly: adding a rule = one module here,
one SQL file in sql/, one entry in config/qc.yaml, one case file in tests/rule_cases/."""

from __future__ import annotations

from . import (
    bargain_followup_late,
    emoji_only_reply,
    forbidden_phrase,
    late_urge_to_pay,
    missing_apology,
    repeated_quick_reply,
    rude_tone,
    slow_first_response,
    slow_response,
    unanswered_question,
)
from .base import Rule

RULES: tuple[Rule, ...] = (
    forbidden_phrase.RULE,
    missing_apology.RULE,
    bargain_followup_late.RULE,
    repeated_quick_reply.RULE,
    slow_first_response.RULE,
    slow_response.RULE,
    emoji_only_reply.RULE,
    late_urge_to_pay.RULE,
    unanswered_question.RULE,
    rude_tone.RULE,
)
BY_ID = {r.id: r for r in RULES}


def get(rule_id: str) -> Rule:
    return BY_ID[rule_id]
