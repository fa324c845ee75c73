"""The findings layer: one Finding shape, one query, one transcript reader.

Every surface that shows findings — `qc findings`, `qc explain`, the review console and the
reports to come — reads them here, so they all show the same columns, the same latest
review status (the store's `review_latest` view) and the same explanation.

A finding explains itself (like presidio's recognizer results): `trace` is its decision
trace — which rule at which version flagged which message and span, the evidence, and
where each piece came from (lexicon file:line, model@version with p and threshold, the
rule parameters that applied).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

# Columns of the findings table, in output order (the jsonl contract of DESIGN.md is a subset).
COLUMNS = (
    "finding_id", "conversation_id", "rule_id", "rule_version", "message_seq", "agent_id", "shop_id", "day",
    "severity", "category", "subcategory", "span_start", "span_end", "evidence", "explanation", "source",
    "score",
)
REVIEW_COLUMNS = ("review_status", "reviewer", "review_reason", "reviewed_at")

# review_status values: pending (no decision yet), then the latest decision.
STATUSES = ("pending", "confirmed", "dismissed", "appealed", "appeal_upheld", "appeal_rejected")
STATUS_ZH = {"pending": "待审", "confirmed": "已确认", "dismissed": "已驳回", "appealed": "申诉中",
             "appeal_upheld": "申诉成立", "appeal_rejected": "申诉驳回"}
# Statuses under which a finding no longer counts against the agent (scorecard, reports).
WITHDRAWN = ("dismissed", "appeal_upheld")
SEVERITY_ORDER = {"redline": 4, "high": 3, "medium": 2, "low": 1}

# Evidence keys that are rule parameters (shown as "params" in the trace).
_PARAM_KEYS = ("window_s", "limit_s", "min_chars", "threshold", "complaint_threshold", "apology_threshold",
               "bargain_threshold")


@dataclass(frozen=True)
class Finding:
    finding_id: str
    conversation_id: str
    rule_id: str
    rule_version: str
    message_seq: int | None
    agent_id: str | None
    shop_id: str | None
    day: date | None
    severity: str
    category: str
    subcategory: str | None
    span_start: int | None
    span_end: int | None
    evidence: Any                 # parsed JSON
    explanation: str
    source: str                   # rule | model | manual
    score: float | None
    review_status: str = "pending"
    reviewer: str | None = None
    review_reason: str | None = None
    reviewed_at: datetime | None = None

    @property
    def rule_tag(self) -> str:
        return f"{self.rule_id}@{self.rule_version}"

    @property
    def counts(self) -> bool:
        """Whether it still counts against the agent."""
        return self.review_status not in WITHDRAWN

    @property
    def trace(self) -> dict:
        """The decision trace: rule@version, message, span, evidence, and the lexicon
        entries, models and parameters it rests on."""
        ev = self.evidence
        sources: list[dict] = []
        params: dict = {}

        def walk(d):
            if isinstance(d, list):
                for x in d:
                    walk(x)
                return
            if not isinstance(d, dict):
                return
            if d.get("lexicon"):
                phrase = d.get("phrase") or d.get("complaint_cue")
                sources.append({"lexicon": d["lexicon"], **({"phrase": phrase} if phrase else {})})
            if d.get("complaint_pattern"):
                sources.append({"lexicon": "lexicons/complaint_patterns.txt", "pattern": d["complaint_pattern"]})
            if d.get("model"):
                p = d.get("p", d.get("model_p_complaint"))
                thr = d.get("threshold", d.get("complaint_threshold"))
                sources.append({"model": d["model"], **({"label": d["label"]} if d.get("label") else {}),
                                **({"p": p} if p is not None else {}), **({"threshold": thr} if thr is not None else {})})
            if d.get("apology_model") and d["apology_model"] != "none":
                sources.append({"model": d["apology_model"], "label": "apology", "threshold": d.get("apology_threshold")})
            if d.get("apology_lexicon"):
                sources.append({"lexicon": d["apology_lexicon"], "label": "apology"})
            for k in _PARAM_KEYS:
                if k in d and d[k] is not None:
                    params[k] = d[k]

        walk(ev)
        span = [self.span_start, self.span_end] if self.span_start is not None else None
        return {"rule": self.rule_tag, "message_seq": self.message_seq, "span": span, "evidence": ev,
                "sources": sources, "params": params}

    def as_dict(self) -> dict:
        d = asdict(self)
        d["day"] = self.day.isoformat() if self.day else None
        d["reviewed_at"] = self.reviewed_at.isoformat() if self.reviewed_at else None
        return d


_SELECT = (
    "SELECT " + ", ".join(f"f.{c}" for c in COLUMNS) +
    ", coalesce(r.decision, 'pending') AS review_status, r.reviewer, r.reason AS review_reason, r.decided_at AS reviewed_at"
    " FROM findings f LEFT JOIN review_latest r USING (finding_id)"
)


@dataclass
class Filter:
    """What to list. Every field is optional; values are bound parameters."""

    rule: str | None = None
    agent: str | None = None
    day: date | str | None = None
    conversation: str | None = None
    shop: str | None = None
    status: str | None = None
    severity: str | None = None
    finding_id: str | None = None
    since: date | str | None = None      # first day, inclusive (a report's period)
    until: date | str | None = None      # last day, exclusive
    counted: bool | None = None          # True: only findings that still count (not withdrawn)

    def where(self) -> tuple[str, list]:
        sql, params = [], []
        for col, val in (("f.rule_id", self.rule), ("f.agent_id", self.agent), ("f.conversation_id", self.conversation),
                         ("f.shop_id", self.shop), ("f.severity", self.severity), ("f.finding_id", self.finding_id)):
            if val is not None:
                sql.append(f"{col} = ?")
                params.append(val)
        if self.day is not None:
            sql.append("f.day = ?::DATE")
            params.append(str(self.day))
        if self.since is not None:
            sql.append("f.day >= ?::DATE")
            params.append(str(self.since))
        if self.until is not None:
            sql.append("f.day < ?::DATE")
            params.append(str(self.until))
        if self.status is not None:
            sql.append("coalesce(r.decision, 'pending') = ?")
            params.append(self.status)
        if self.counted is not None:
            sql.append(("" if self.counted else "NOT ") + "(coalesce(r.decision, 'pending') NOT IN (SELECT unnest(?::VARCHAR[])))")
            params.append(sorted(WITHDRAWN))
        return (" WHERE " + " AND ".join(sql)) if sql else "", params


ORDER = " ORDER BY f.day, f.conversation_id, f.message_seq NULLS FIRST, f.rule_id, f.finding_id"
# Most severe first, then as ORDER (reports: the worst findings of a period, in SQL)
SEVERE_FIRST = (" ORDER BY CASE f.severity " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in SEVERITY_ORDER.items())
                + " ELSE 0 END DESC, " + ORDER.removeprefix(" ORDER BY "))


def _row(r) -> Finding:
    d = dict(zip(COLUMNS + REVIEW_COLUMNS, r))
    d["evidence"] = json.loads(d["evidence"]) if d["evidence"] else None
    return Finding(**d)


def query(con, flt: Filter | None = None, limit: int | None = None, offset: int = 0,
          severe_first: bool = False) -> list[Finding]:
    """Findings matching `flt`, each with its latest review status."""
    where, params = (flt or Filter()).where()
    sql = _SELECT + where + (SEVERE_FIRST if severe_first else ORDER)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params = params + [int(limit), int(offset)]
    return [_row(r) for r in con.execute(sql, params).fetchall()]


def count(con, flt: Filter | None = None) -> int:
    where, params = (flt or Filter()).where()
    return con.execute(f"SELECT count(*) FROM ({_SELECT}{where})", params).fetchall()[0][0]


def get(con, finding_id: str) -> Finding | None:
    rows = query(con, Filter(finding_id=finding_id))
    return rows[0] if rows else None


# --------------------------------------------------------------------------- transcripts


@dataclass(frozen=True)
class Message:
    seq: int
    ts_local: datetime
    role: str
    agent_id: str | None
    text: str
    msg_type: str
    gap_s: float | None       # seconds since the previous message


@dataclass
class Transcript:
    conversation_id: str
    shop_id: str
    queue: str
    customer_id: str | None
    agents: list[str]
    day: date
    messages: list[Message]
    findings: list[Finding] = field(default_factory=list)

    def findings_at(self, seq: int | None) -> list[Finding]:
        return [f for f in self.findings if f.message_seq == seq]


def transcript(con, conversation_id: str) -> Transcript | None:
    """A conversation as a reviewer reads it: its messages in order with the gaps between
    them, and its findings with their review status. None when there is no such conversation."""
    conv = con.execute(
        "SELECT shop_id, queue, customer_id, agents, day FROM conversations WHERE conversation_id = ?",
        [conversation_id],
    ).fetchone()
    if not conv:
        return None
    msgs = [Message(*r) for r in con.execute(
        """SELECT seq, ts_local, role, agent_id, text, msg_type,
                  epoch(ts) - epoch(lag(ts) OVER (ORDER BY seq)) AS gap_s
           FROM messages WHERE conversation_id = ? ORDER BY seq""",
        [conversation_id],
    ).fetchall()]
    shop, queue, customer, agents, day = conv
    return Transcript(conversation_id, shop, queue, customer, list(agents or []), day, msgs,
                      query(con, Filter(conversation=conversation_id)))


def messages_of(con, conversation_ids: list[str]) -> dict[str, list[Message]]:
    """The messages of several conversations, in order, with their gaps (as `transcript`
    reads them), from one query: {conversation_id: [Message]}; absent ids are left out."""
    out: dict[str, list[Message]] = {}
    if not conversation_ids:
        return out
    for r in con.execute(
        """SELECT conversation_id, seq, ts_local, role, agent_id, text, msg_type,
                  epoch(ts) - epoch(lag(ts) OVER (PARTITION BY conversation_id ORDER BY seq)) AS gap_s
           FROM messages WHERE conversation_id IN (SELECT unnest(?::VARCHAR[]))
           ORDER BY conversation_id, seq""",
        [list(conversation_ids)],
    ).fetchall():
        out.setdefault(r[0], []).append(Message(*r[1:]))
    return out


# --------------------------------------------------------------------------- lookups


def inspected(con) -> bool:
    """Whether any inspection has finished on this database."""
    return con.execute("SELECT count(*) FROM inspect_runs WHERE finished_at IS NOT NULL").fetchall()[0][0] > 0


def known_agents(con) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT DISTINCT agent_id FROM messages WHERE agent_id IS NOT NULL ORDER BY 1").fetchall()]
