"""What a rule is. Everything the project knows about a rule lives in its module:

* who it is: id (a contract, DESIGN.md), version, Chinese name, category (decides the
  remedy: 业务类 / 能力类 / 态度类), default severity (bound into its SQL as `$severity`);
* what it means: description, a violating and a compliant example (the module docstring
  holds the full definition; docs/rules.md is generated from it);
* how it is tuned: its parameters with type, default and bounds — config/qc.yaml may
  override them and is validated against these declarations;
* which model signals it reads: a parameter with `model=("task", "label")` is a probability
  threshold on that model label (`auto` = the model card's threshold);
* how a review of one of its findings becomes a training example (`review_labels`).

Every rule's SQL (qc/rules/sql/<id>.sql) reads the batch tables the engine prepares
(qc/inspect.py):
  bmf  one row per message in scope, with lexicon flags (has_apology, has_bargain, ...)
       and model probabilities (m_complaint, m_rude, ...; NULL without a model); `cid` is
       its conversation as an integer: rules join, group and partition on cid, not on the
       conversation_id string (19% faster over the ten rules at 1M messages)
  mm   one row per lexicon hit (row, lexicon, phrase, span, category, severity, source)
  scope_orders  orders of the customers in scope
and returns one row per finding with the columns in FINDING_COLUMNS, `cid` in place of
conversation_id (the engine maps it back). The engine adds the rule's id, version and
category in SQL when it stores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CATEGORIES = ("业务类", "能力类", "态度类")
SEVERITIES = ("low", "medium", "high", "redline")
FINDING_COLUMNS = (
    "conversation_id", "message_seq", "agent_id", "severity", "subcategory",
    "span_start", "span_end", "evidence", "explanation", "score", "key",
)
# Values every rule's SQL may use besides its own parameters (bound by the engine).
ENGINE_PARAMS = ("severity", "intent_model", "act_model", "apology_version",
                 # whole-message lexicons as regexes (qc/inspect.py whole_message_patterns)
                 "closing_re", "closing_start_re", "courtesy_re", "formulas_re",
                 "price_protection_re", "price_topic_re", "bargain_ask_re", "hypothetical_re", "own_fault_re", "worry_re", "complaint_pattern_re", "service_request_re",
                 "tone_softener_re", "tone_blunt_re")


@dataclass(frozen=True)
class Param:
    """A tunable rule parameter. `model` marks a probability threshold on a model label:
    its value is a number in (0, 1] or `auto` (the threshold in that model's card)."""

    name: str
    type: type              # int | float
    default: Any
    min: float | None = 0   # exclusive lower bound (values must be > min)
    max: float | None = None  # inclusive upper bound
    help: str = ""
    model: tuple[str, str] | None = None   # (task, label), e.g. ("agent_act", "rude")

    def check(self, value) -> str | None:
        """None when `value` is acceptable, else the reason (Chinese + English)."""
        if self.model and value == "auto":
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (self.type is int and not float(value).is_integer()):
            kind = "整数 (an integer)" if self.type is int else "数字 (a number)"
            return f"必须是{kind}{' 或 auto' if self.model else ''}, got {value!r}"
        if self.min is not None and value <= self.min:
            return f"必须大于 {self.min} (must be > {self.min}), got {value!r}"
        if self.max is not None and value > self.max:
            return f"不能大于 {self.max} (must be <= {self.max}), got {value!r}"
        return None


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    name: str               # 中文名, shown to reviewers
    category: str           # 业务类 | 能力类 | 态度类 (decides the remedy)
    severity: str | None    # default severity ($severity in the SQL); None when the lexicon decides
    description: str
    violating: str          # a violating example, in Chinese
    compliant: str          # a compliant example, in Chinese
    params: tuple[Param, ...] = ()
    # How a reviewed finding of this rule teaches a classifier: {task: label}. A confirmed
    # finding is a positive example of `label` for the flagged text; see qc/classify.py.
    review_labels: dict[str, str] = field(default_factory=dict)
    # Which message's text a review teaches with: "flagged" (the finding's message) or an
    # evidence key holding a seq (e.g. "bargain_seq").
    review_text: str = "flagged"
    # A dismissal says the text was not what the model thought (agent side: "it wasn't
    # rude"); for customer-side rules a dismissal is usually about the agent and teaches nothing.
    dismissal_teaches: bool = False
    # Dismiss reasons (presets of config review.dismiss_reasons, matched at the start of the
    # reason) that *do* say the flagged text was not what the model read, where a dismissal in
    # general does not: 误判：顾客没有投诉 on missing_apology makes the customer's message an
    # `other` example — in-domain negatives, the kind the models lack (real-chat evaluation).
    teaching_dismissals: tuple[str, ...] = ()

    def __post_init__(self):
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.id}: category {self.category!r} not in {CATEGORIES}")
        if self.severity is not None and self.severity not in SEVERITIES:
            raise ValueError(f"{self.id}: severity {self.severity!r} not in {SEVERITIES}")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.id}: duplicate parameter names {names}")
        for p in self.params:
            if p.name in ENGINE_PARAMS or p.name == "enabled":
                raise ValueError(f"{self.id}: parameter name {p.name!r} is reserved")
            if p.check(p.default) is not None:
                raise ValueError(f"{self.id}.{p.name}: bad default {p.default!r}")

    @property
    def tag(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def sql(self) -> str:
        """Its SQL file in qc/rules/sql/ (named after the id: one place to look)."""
        return f"{self.id}.sql"

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.id} has no parameter {name!r}")

    @property
    def model_params(self) -> dict[str, tuple[str, str]]:
        return {p.name: p.model for p in self.params if p.model}
