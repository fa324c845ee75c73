"""What a rule is: metadata a reviewer can read, default params, and one SQL file.

Every rule's SQL reads the batch tables the engine prepares (see qc/inspect.py):
  bmf  one row per message in scope, with lexicon flags (has_apology, has_bargain, ...)
  mm   one row per lexicon hit (row, lexicon, phrase, span, category, severity, source)
  scope_orders  orders of the customers in scope
and returns one row per finding with the columns in FINDING_COLUMNS.
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


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    name: str               # 中文名, shown to reviewers
    category: str           # 业务类 | 能力类 | 态度类 (decides the remedy)
    severity: str | None    # default severity; None when it comes from the lexicon
    description: str
    violating: str          # a violating example, in Chinese
    compliant: str          # a compliant example, in Chinese
    sql: str                # file name in qc/rules/sql/
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        assert self.category in CATEGORIES, self.id
        assert self.severity is None or self.severity in SEVERITIES, self.id

    @property
    def tag(self) -> str:
        return f"{self.id}@{self.version}"
