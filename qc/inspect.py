"""The inspection engine: pick the conversations in scope, run the text stage once over
the whole batch, run every enabled rule as SQL, replace their findings.

Stages (timed, stored in inspect_runs.stages):
  scope     which conversations: those marked for inspection (default), one day, or all
  batch     their messages into a temp table `bm` (one row per message)
  match     one Aho-Corasick pass over the text column -> `mm` (one row per lexicon hit)
  flags     per-message flags from `mm` -> `bmf`
  rules     one SQL query per rule -> findings
  write     replace the scope's rule findings, clear needs_inspection
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from . import lexicon
from .config import Config, load_config
from .paths import ROOT
from .rules import RULES, Rule
from .textmatch import matcher, resolve_hits

RULE_SQL_DIR = ROOT / "qc" / "rules" / "sql"


@dataclass
class InspectReport:
    run_id: int
    scope: str
    conversations: int = 0
    messages: int = 0
    findings: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _rule_sql(rule: Rule) -> str:
    return (RULE_SQL_DIR / rule.sql).read_text(encoding="utf-8").strip().rstrip(";")


def _scope(con, day: date | str | None, all_: bool) -> str:
    if all_:
        con.execute("CREATE OR REPLACE TEMP TABLE scope_conv AS SELECT conversation_id FROM conversations")
        return "all"
    if day:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE scope_conv AS SELECT conversation_id FROM conversations WHERE day = ?::DATE",
            [str(day)],
        )
        return f"date={day}"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE scope_conv AS SELECT conversation_id FROM conversations WHERE needs_inspection"
    )
    return "pending"


# Full-width marks common in Chinese chat, replaced in SQL by their qc.text.normalize value.
_COMMON_FULLWIDTH = "，！？：；（）～　"


def _halfwidth_sql(col: str) -> str:
    expr = col
    for ch in _COMMON_FULLWIDTH:
        half = " " if ch == "\u3000" else chr(ord(ch) - 0xFEE0)
        expr = f"replace({expr}, '{ch}', '{half.replace(chr(39), chr(39) * 2)}')"
    return expr


def _build_batch(con) -> int:
    # `row` only identifies a message inside this batch: the table's rowid (a numbering
    # window would cost a single-threaded pass).
    # ntext: the text normalised as qc.text.normalize does (same length: spans stay valid).
    # norm: the near-same comparison key (no spaces, punctuation, emoji or [sticker] codes),
    # only for customer/agent messages.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE bm AS
        WITH j AS (
            SELECT m.*, m.rowid AS msg_rowid, c.customer_id AS conv_customer, c.shop_id AS conv_shop, c.queue AS conv_queue
            FROM messages m
            JOIN scope_conv s USING (conversation_id)
            JOIN conversations c USING (conversation_id)
        ), h AS (
            SELECT *, HALFWIDTH AS hw FROM j
        ), m AS (
            -- translate() costs ~1.6 s per 1M rows in DuckDB, and three in four Chinese
            -- messages hold full-width punctuation: the common marks are replaced above
            -- (~0.02 s each per 1M rows); the few texts with any other full-width character
            -- get NULL here and are normalised in Python below
            SELECT * EXCLUDE (hw),
                   CASE WHEN regexp_matches(hw, '[\\x{FF01}-\\x{FF5E}\\x{3000}]') THEN NULL
                        ELSE lower(hw) END AS ntext
            FROM h
        )
        SELECT msg_rowid AS row,
               msg_key, conversation_id, seq, ts, epoch(ts) AS epoch, role, agent_id,
               coalesce(customer_id, conv_customer) AS customer_id, conv_shop AS shop_id, conv_queue AS queue,
               text, msg_type, ntext,
               -- customers' norm only serves the acknowledgement check, so only short texts get
               -- one; NULL = not computed (never read as "empty", i.e. emoji-only)
               CASE WHEN role = 'agent' OR (role = 'customer' AND length(ntext) <= 16)
                    THEN regexp_replace(ntext, '\\[[^\\[\\]]{1,6}\\]|[^\\p{L}\\p{N}]', '', 'g')
                    END AS norm
        FROM m
        """.replace("HALFWIDTH", _halfwidth_sql("text"))
    )
    wide = con.sql("SELECT row, text FROM bm WHERE ntext IS NULL").fetchall()
    if wide:
        from .text import normalize

        con.register("wide_fix", pa.table({"row": pa.array([r for r, _ in wide], pa.int64()),
                                           "ntext": [normalize(t) for _, t in wide]}))
        con.execute(
            """UPDATE bm SET ntext = w.ntext,
                   norm = CASE WHEN bm.role IN ('customer', 'agent')
                               THEN regexp_replace(w.ntext, '\\[[^\\[\\]]{1,6}\\]|[^\\p{L}\\p{N}]', '', 'g')
                               END
               FROM wide_fix w WHERE bm.row = w.row"""
        )
        con.unregister("wide_fix")
    return con.execute("SELECT count(*) FROM bm").fetchone()[0]


def _ack_table(con) -> None:
    from .text import strip_for_compare

    acks = sorted({strip_for_compare(p) for p in lexicon.load("ack").phrases} - {""})
    con.execute("CREATE OR REPLACE TEMP TABLE ack_norm (norm VARCHAR PRIMARY KEY)")
    con.executemany("INSERT INTO ack_norm VALUES (?)", [(a,) for a in acks])


def _flags(con) -> None:
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE bmf AS
        WITH f AS (
            SELECT row,
                   bool_or(lexicon = 'forbidden') AS has_forbidden,
                   bool_or(lexicon = 'apology')   AS has_apology,
                   bool_or(lexicon = 'soothing')  AS has_soothing,
                   bool_or(lexicon = 'complaint') AS has_complaint,
                   bool_or(lexicon = 'bargain')   AS has_bargain,
                   bool_or(lexicon = 'ordered')   AS has_ordered,
                   bool_or(lexicon = 'followup')  AS has_followup,
                   bool_or(lexicon = 'urge_pay')  AS has_urge,
                   bool_or(lexicon = 'question')  AS has_question
            FROM mm GROUP BY row
        )
        SELECT b.* EXCLUDE (ntext),           -- the rules read text; ntext only fed the match stage
               coalesce(f.has_forbidden, false) AS has_forbidden,
               coalesce(f.has_apology, false)   AS has_apology,
               coalesce(f.has_soothing, false)  AS has_soothing,
               coalesce(f.has_complaint, false) AS has_complaint,
               coalesce(f.has_bargain, false)   AS has_bargain,
               coalesce(f.has_ordered, false)   AS has_ordered,
               coalesce(f.has_followup, false)  AS has_followup,
               coalesce(f.has_urge, false)      AS has_urge,
               coalesce(f.has_question, false)  AS has_question,
               coalesce(b.norm <> '' AND b.norm IN (SELECT norm FROM ack_norm), false) AS is_ack,
               (b.msg_type = 'emoji' OR (coalesce(b.norm = '', false) AND trim(b.text) <> ''
                                         AND b.msg_type IN ('text', 'emoji', 'other'))) AS emoji_only
        FROM bm b LEFT JOIN f USING (row)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE scope_orders AS
        SELECT o.* FROM orders o
        WHERE (o.customer_id, o.shop_id) IN (SELECT DISTINCT customer_id, shop_id FROM bm WHERE customer_id IS NOT NULL)
        """
    )


# Which model label a rule's `*_threshold` parameter applies to (config value `auto` = the
# threshold in that model's card).
THRESHOLD_LABELS = {
    ("missing_apology", "complaint_threshold"): ("customer_intent", "complaint"),
    ("missing_apology", "apology_threshold"): ("agent_act", "apology"),
    ("bargain_followup_late", "bargain_threshold"): ("customer_intent", "bargain"),
    ("rude_tone", "threshold"): ("agent_act", "rude"),
}


def _classify(con, use_models: bool, notes: list[str], loaded: dict | None = None) -> dict[str, str]:
    """Stage `classify`: customer intents and agent acts for the whole batch, as columns
    m_* (probabilities; NULL without a model) added to bmf. Returns {task: model tag}."""
    from .classify import ModelError, load_model

    wanted = {"customer_intent": ("customer", ["bargain", "complaint"]),
              "agent_act": ("agent", ["apology", "followup", "rude"])}
    tags = {}
    cols = []
    for task, (role, labels) in wanted.items():
        model = None
        if use_models:
            try:
                model = load_model(task)
            except ModelError as exc:
                notes.append(f"分类模型不可用，已退回词库 (classifier unavailable, lexicons only): {exc}")
        if model is None:
            cols += [f"NULL::DOUBLE AS m_{l}" for l in labels]
            tags[task] = "none"
            continue
        tags[task] = model.tag
        if loaded is not None:
            loaded[task] = model
        # Only typed text: order cards, images and emoji-only messages are not utterances the
        # models were trained on (an order card read as bargaining is a false finding).
        tbl = con.sql(f"SELECT row, text FROM bmf WHERE role = '{role}' AND msg_type = 'text' AND NOT emoji_only").to_arrow_table()
        probs = model.predict_proba(tbl.column("text").to_pylist())
        data = {"row": tbl.column("row")}
        for l in labels:
            data[f"m_{l}"] = pa.array(probs[:, model.labels.index(l)] if len(probs) else [], pa.float64())
        con.register(f"probs_{task}", pa.table(data))
        con.execute(f"CREATE OR REPLACE TEMP TABLE p_{task} AS SELECT * FROM probs_{task}")
        con.unregister(f"probs_{task}")
        cols += [f"p_{task}.m_{l}" for l in labels]
    if all(tag == "none" for tag in tags.values()):
        # lexicons only: empty probability columns, no copy of the batch
        for c in cols:
            con.execute(f"ALTER TABLE bmf ADD COLUMN {c.split(' AS ')[1]} DOUBLE")
        return tags
    joins = " ".join(f"LEFT JOIN p_{t} USING (row)" for t, tag in tags.items() if tag != "none")
    con.execute(f"CREATE OR REPLACE TEMP TABLE bmf AS SELECT bmf.*, {', '.join(cols)} FROM bmf {joins}")
    for t, tag in tags.items():
        if tag != "none":
            con.execute(f"DROP TABLE p_{t}")
    return tags


def inspect(con, day: date | str | None = None, all_: bool = False, config: Config | None = None,
            rules: tuple[Rule, ...] | None = None, use_models: bool = True) -> InspectReport:
    """Inspect the conversations in scope and replace their rule findings. Idempotent."""
    config = config or load_config()
    rules = rules or RULES
    t0 = time.perf_counter()
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM inspect_runs").fetchone()[0]
    scope = _scope(con, day, all_)
    rep = InspectReport(run_id, scope)
    con.execute("INSERT INTO inspect_runs (run_id, started_at, scope) VALUES (?, now(), ?)", [run_id, scope])
    rep.conversations = con.execute("SELECT count(*) FROM scope_conv").fetchone()[0]
    stages = rep.stages
    stages["scope"] = time.perf_counter() - t0

    t = time.perf_counter()
    rep.messages = _build_batch(con)
    _ack_table(con)
    stages["batch"] = time.perf_counter() - t

    t = time.perf_counter()
    # Only customer and agent messages are ever judged on their words.
    tbl = con.sql("SELECT row, ntext FROM bm WHERE role IN ('customer', 'agent')").to_arrow_table()
    rows = tbl.column("row").to_numpy()
    m = matcher()
    hits = m.scan(rows, tbl.column("ntext").to_pylist())
    del tbl
    resolve_hits(
        con, m, hits,
        lambda rs: dict(con.execute("SELECT row, ntext FROM bm WHERE row IN (SELECT unnest(?))", [list(rs)]).fetchall()),
        judged_rows_sql="SELECT row FROM bm WHERE role = 'agent'",
    )
    stages["match"] = time.perf_counter() - t

    t = time.perf_counter()
    _flags(con)
    stages["flags"] = time.perf_counter() - t

    t = time.perf_counter()
    models: dict = {}
    model_tags = _classify(con, use_models, rep.notes, models)
    rep.models = dict(model_tags)
    stages["classify"] = time.perf_counter() - t

    t = time.perf_counter()
    versions = m.versions
    parts = []
    for rule in rules:
        if not config.rule_enabled(rule.id):
            continue
        params = {**rule.params, **{k: v for k, v in config.rule(rule.id).items() if k != "enabled"}}
        sql = _rule_sql(rule)
        bind = dict(params)
        for name, value in params.items():
            if value == "auto":
                task, label = THRESHOLD_LABELS[(rule.id, name)]
                # without the model its probabilities are NULL and the threshold is moot
                bind[name] = models[task].threshold(label) if task in models else 1.0
        bind["apology_version"] = versions["apology"]
        bind["intent_model"] = model_tags["customer_intent"]
        bind["act_model"] = model_tags["agent_act"]
        used = {k: v for k, v in bind.items() if re.search(rf"\${k}\b", sql)}
        tr = time.perf_counter()
        tbl = con.sql(sql, params=used or None).to_arrow_table()
        stages[f"rule:{rule.id}"] = time.perf_counter() - tr
        n = tbl.num_rows
        rep.by_rule[rule.id] = n
        if n:
            tbl = tbl.append_column("rule_id", pa.array([rule.id] * n, pa.string()))
            tbl = tbl.append_column("rule_version", pa.array([rule.version] * n, pa.string()))
            tbl = tbl.append_column("category", pa.array([rule.category] * n, pa.string()))
            parts.append(tbl.select(["conversation_id", "message_seq", "agent_id", "severity", "subcategory",
                                     "span_start", "span_end", "evidence", "explanation", "score", "key",
                                     "rule_id", "rule_version", "category"]).cast(_RESULT_SCHEMA))
    stages["rules"] = time.perf_counter() - t

    t = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "DELETE FROM findings WHERE source = 'rule' AND conversation_id IN (SELECT conversation_id FROM scope_conv)"
        )
        if parts:
            allf = pa.concat_tables(parts)
            con.register("new_findings", allf)
            con.execute(
                """
                INSERT INTO findings
                SELECT
                    substr(sha1(concat_ws(chr(31), n.conversation_id, n.rule_id,
                                          coalesce(n.message_seq::VARCHAR, ''), coalesce(n.key, ''))), 1, 20),
                    n.conversation_id, n.message_seq, n.agent_id, c.shop_id, c.day,
                    n.rule_id, n.rule_version, n.severity, n.category, n.subcategory,
                    n.span_start, n.span_end, n.evidence, n.explanation, 'rule', n.score, ?, now()
                FROM new_findings n JOIN conversations c USING (conversation_id)
                """,
                [run_id],
            )
            con.unregister("new_findings")
        con.execute(
            "UPDATE conversations SET needs_inspection = false WHERE conversation_id IN (SELECT conversation_id FROM scope_conv)"
        )
        rep.findings = sum(rep.by_rule.values())
        stages["write"] = time.perf_counter() - t
        stages["total"] = time.perf_counter() - t0
        con.execute(
            "UPDATE inspect_runs SET finished_at = now(), conversations = ?, messages = ?, findings = ?, stages = ?, notes = ? WHERE run_id = ?",
            [rep.conversations, rep.messages, rep.findings, json.dumps(stages), json.dumps(rep.notes, ensure_ascii=False), run_id],
        )
        con.execute("COMMIT")
        con.execute("CHECKPOINT")  # see qc/ingest.py: DuckDB 2.0.0 same-connection visibility
    except Exception:
        con.execute("ROLLBACK")
        raise
    for tmp in ("bm", "bmf", "mm", "scope_orders"):
        con.execute(f"DROP TABLE IF EXISTS {tmp}")
    return rep


_RESULT_SCHEMA = pa.schema([
    ("conversation_id", pa.string()), ("message_seq", pa.int32()), ("agent_id", pa.string()),
    ("severity", pa.string()), ("subcategory", pa.string()), ("span_start", pa.int32()),
    ("span_end", pa.int32()), ("evidence", pa.string()), ("explanation", pa.string()),
    ("score", pa.float64()), ("key", pa.string()), ("rule_id", pa.string()),
    ("rule_version", pa.string()), ("category", pa.string()),
])
