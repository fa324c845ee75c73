"""The inspection engine, as named stages. Each stage is a plain function over one DuckDB
connection and the TEMP tables the stages before it left; tests call them one by one,
`inspect()` runs them in order and times them (stored in inspect_runs.stages):

  select_scope    which conversations: those marked for inspection (default), one day, or all
  build_batch     their messages -> `bm` (one row per message, normalised text)
  match_text      one Aho-Corasick pass over the text column -> `mm` (one row per lexicon hit);
                  `start_match` runs the pass in a thread, `finish_match` resolves its hits
  classify        customer intents and agent acts for the batch's distinct texts -> probs_* (Arrow)
  flag_messages   per-message flags from `mm` and the m_* probability columns -> `bmf`;
                  the scope's orders -> `scope_orders`
  run_rules       every enabled rule's SQL (qc/rules/sql/<id>.sql) -> `rule_results`
  store_findings  replace the scope's rule findings in one transaction, clear needs_inspection

Text work is batched: the whole scope goes through the matcher and the classifiers as
columns. SQL runs through qc.sqlfiles (bound parameters only).
"""

from __future__ import annotations

import json
import os
import time
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from . import arrowcols, lexicon, sqlfiles, store
from .config import Config, load_config
from .faults import point
from .paths import RULE_SQL_DIR
from .rules import RULES, Rule
from .rules.base import FINDING_COLUMNS
from .textmatch import matcher, resolve_hits


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


@dataclass
class Models:
    """What the classify stage used: {task: tag} ('none' without a model) and the loaded
    models (for their thresholds)."""

    tags: dict[str, str] = field(default_factory=dict)
    loaded: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def tag(self, task: str) -> str:
        return self.tags.get(task, "none")


def rule_statement(rule: Rule) -> str:
    """A rule's SQL: exactly one SELECT statement (tests/test_rules_meta.py checks it)."""
    (stmt,) = sqlfiles.statements(RULE_SQL_DIR / rule.sql)
    return stmt


def select_scope(con, day: date | str | None = None, all_: bool = False) -> str:
    """Stage `scope`: TEMP TABLE scope_conv (one row per conversation to inspect)."""
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


def _batch_table(con) -> int:
    # `row` only identifies a message inside this batch: the table's rowid (a numbering
    # window would cost a single-threaded pass).
    # ntext: the text normalised as qc.text.normalize does (same length: spans stay valid).
    # norm: the near-same comparison key (no spaces, punctuation, emoji or [sticker] codes),
    # only for customer/agent messages.
    # Only the scope's time span of messages is read: a night's scope in a store of months would
    # otherwise scan every message for its conversation ids. A conversation row spans all its
    # messages (started_at/ended_at are their min/max ts) — except while an interrupted ingest
    # leaves rows to rebuild (pending_refresh): then everything is read, as before.
    lo, hi = con.execute(
        """SELECT min(started_at), max(ended_at) FROM conversations
           WHERE conversation_id IN (SELECT conversation_id FROM scope_conv)
             AND NOT EXISTS (SELECT 1 FROM pending_refresh)""").fetchone()
    span = "WHERE m.ts BETWEEN $lo AND $hi" if lo is not None else ""
    # scope_cid: the scope's conversations with `cid`, an integer for the conversation in this
    # batch (the conversations row's rowid). The rules join, group and partition on it: on the
    # id string (18 characters, beyond what DuckDB keeps inline, so each comparison is a
    # memcmp) the ten rules took 1.35 s at 1M messages, on the integer 1.09 s. run_rules maps
    # it back to conversation_id.
    con.execute("""CREATE OR REPLACE TEMP TABLE scope_cid AS
                   SELECT c.rowid AS cid, c.conversation_id, c.customer_id, c.shop_id, c.queue
                   FROM conversations c JOIN scope_conv USING (conversation_id)""")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE bm AS
        WITH j AS (
            SELECT m.*, m.rowid AS msg_rowid, c.cid, c.customer_id AS conv_customer, c.shop_id AS conv_shop, c.queue AS conv_queue
            FROM messages m
            JOIN scope_cid c USING (conversation_id)
            SPAN
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
               msg_key, conversation_id, cid, seq, ts, epoch(ts) AS epoch, role, agent_id,
               coalesce(customer_id, conv_customer) AS customer_id, conv_shop AS shop_id, conv_queue AS queue,
               text, msg_type, ntext,
               -- customers' norm only serves the acknowledgement check, so only short texts get
               -- one; NULL = not computed (never read as "empty", i.e. emoji-only)
               CASE WHEN role = 'agent' OR (role = 'customer' AND length(ntext) <= 16)
                    THEN regexp_replace(ntext, '\\[[^\\[\\]]{1,6}\\]|[^\\p{L}\\p{N}]', '', 'g')
                    END AS norm
        FROM m
        """.replace("HALFWIDTH", _halfwidth_sql("text")).replace("SPAN", span),
        {"lo": lo, "hi": hi} if span else None,
    )
    wide = con.sql("SELECT row, text FROM bm WHERE ntext IS NULL").fetchall()
    if wide:
        from .text import normalize

        con.register("wide_fix", pa.table({"row": arrowcols.numbers([r for r, _ in wide], pa.int64()),
                                           "ntext": arrowcols.strings(normalize(t) for _, t in wide)}))
        con.execute(
            """UPDATE bm SET ntext = w.ntext,
                   norm = CASE WHEN bm.role IN ('customer', 'agent')
                               THEN regexp_replace(w.ntext, '\\[[^\\[\\]]{1,6}\\]|[^\\p{L}\\p{N}]', '', 'g')
                               END
               FROM wide_fix w WHERE bm.row = w.row"""
        )
        con.unregister("wide_fix")
    return con.execute("SELECT count(*) FROM bm").fetchall()[0][0]


def _ack_table(con) -> None:
    from .text import strip_for_compare

    acks = sorted({strip_for_compare(p) for p in lexicon.load("ack").phrases} - {""})
    con.execute("CREATE OR REPLACE TEMP TABLE ack_norm (norm VARCHAR PRIMARY KEY)")
    con.executemany("INSERT INTO ack_norm VALUES (?)", [(a,) for a in acks])


def _alternation(name: str, regex: bool = False) -> str:
    """A lexicon as one regex alternation of its normalised phrases (longest first); with
    `regex`, its entries are regular expressions already (service_formulas.txt)."""
    import re

    phrases = sorted({p for p in lexicon.load(name).phrases if p}, key=len, reverse=True)
    return "|".join(f"(?:{p})" if regex else re.escape(p) for p in phrases)


@lru_cache(maxsize=1)
def whole_message_patterns() -> dict[str, str]:
    """Regexes over `norm` (letters and digits only) for lexicons that describe a whole
    message rather than a phrase in it: a closing reply (没有了，谢谢 / 嗯没了), a courteous
    short agent reply (您好啊 / 不用谢亲). Fillers around them do not change what they are."""
    fill_pre = "(?:嗯|恩|哦|额|呃|噢|亲|亲亲)*"
    fill_post = "(?:谢谢|感谢|谢|了|呢|哈|哦|啊|的|呀|你|您|亲|啦|嗯|哈哈)*"
    return {
        "closing": f"{fill_pre}(?:{_alternation('closing')})+{fill_post}",
        "courtesy": f"{fill_pre}(?:{_alternation('courtesy')})+{fill_post}",
        # sticker codes of the configured list, removed before asking "is anything left?"
        "stickers": _alternation("stickers"),
        # service formulas (repeated_quick_reply): removed from `norm` before comparing
        "formulas": _alternation("service_formulas", regex=True),
        # phrase lexicons that qualify a rule's candidates (not matched on every message)
        "price_protection": _alternation("price_protection"),
        "price_topic": _alternation("price_topic"),
        "bargain_ask": _alternation("bargain_ask"),
        "hypothetical": _alternation("hypothetical"),
        "service_request": _alternation("service_request"),
        "own_fault": _alternation("own_fault"),
        # missing_apology: complaint constructions (为什么…不能), regular expressions already
        "complaint_pattern": _alternation("complaint_patterns", regex=True),
        # missing_apology: a complaint cue in a clause that starts with a worry (怕…用不了)
        "worry": f"(?:{_alternation('worry')})[^，。！？,.!?;；\\s]{{0,12}}(?:{_alternation('complaint')})",
        # rude_tone: the register a model-only finding needs (and must not be in)
        "tone_softener": _alternation("tone_softeners"),
        "tone_blunt": _alternation("tone_blunt"),
        # a reply that starts with a closing (没了，尽快处理吧 / 没有了 我问京东的客服了)
        "closing_start": f"^\\s*{fill_pre}\\s*(?:{_alternation('closing')})(?:[^\\p{{L}}]|$)",
    }


def flag_messages(con, probs_of: dict[str, tuple[str, ...]] | None = None) -> None:
    """Stage `flags`: per-message lexicon flags from `mm`, and the classifiers' probability
    columns m_<label> of the tables `classify` registered (`probs_of`; NULL without a model)
    -> `bmf`; the scope's orders.
    One materialisation of the batch for both (the model columns used to be a second copy)."""
    pat = whole_message_patterns()
    selects, joins = _model_columns(probs_of)
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
                   bool_or(lexicon = 'closing_question') AS has_closing_question
            FROM mm GROUP BY row
        ), x AS (
        SELECT b.* EXCLUDE (ntext),           -- the rules read text; ntext only fed the match stage
               coalesce(f.has_forbidden, false) AS has_forbidden,
               coalesce(f.has_apology, false)   AS has_apology,
               coalesce(f.has_soothing, false)  AS has_soothing,
               coalesce(f.has_complaint, false) AS has_complaint,
               coalesce(f.has_bargain, false)   AS has_bargain,
               coalesce(f.has_ordered, false)   AS has_ordered,
               coalesce(f.has_followup, false)  AS has_followup,
               coalesce(f.has_urge, false)      AS has_urge,
               -- FLAG_ONLY (qc/textmatch.py): one RE2 pass, on the roles the scan reads
               coalesce(b.role IN ('customer', 'agent') AND regexp_matches(b.ntext, $question_re), false) AS has_question,
               coalesce(f.has_closing_question, false) AS has_closing_question,
               coalesce(b.norm <> '' AND b.norm IN (SELECT norm FROM ack_norm), false) AS is_ack,

               -- only emoji / listed sticker codes: export placeholders ([数字x], [链接x]) are content
               -- (CASE: the regexes run only on the few rows with nothing but symbols left)
               CASE WHEN b.msg_type = 'emoji' THEN true
                    WHEN coalesce(b.norm = '', false) AND b.msg_type IN ('text', 'other') AND trim(b.text) <> ''
                    THEN regexp_replace(regexp_replace(b.ntext, $stickers, '', 'g'), '[^\\p{L}\\p{N}]', '', 'g') = ''
                    ELSE false END AS emoji_only
        FROM bm b LEFT JOIN f USING (row)
        )
        SELECT x.*, SELECTS FROM x JOINS
        """.replace("SELECTS", ", ".join(selects)).replace("JOINS", " ".join(joins)),
        {"stickers": pat["stickers"], "question_re": matcher().flag_pattern("question")},
    )
    _release_probs(con, probs_of)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE scope_orders AS
        SELECT o.* FROM orders o
        WHERE (o.customer_id, o.shop_id) IN (SELECT DISTINCT customer_id, shop_id FROM bm WHERE customer_id IS NOT NULL)
        """
    )


def build_batch(con) -> int:
    """Stage `batch`: the scope's messages -> `bm`, and the acknowledgement list."""
    n = _batch_table(con)
    _ack_table(con)
    return n


def start_match(con):
    """Stage `match`, first half: the batch's customer and agent texts as one string, and
    the Aho-Corasick pass over it started in a thread (it holds no GIL while it searches, so
    the classifiers run beside it on the other core). `finish_match` waits for it."""
    import threading

    # Only customer and agent messages are ever judged on their words. The texts arrive
    # joined: each ends with a newline (no phrase holds one), and Arrow's string buffer of
    # the column is then the whole batch in one piece — no Python string per message.
    tbl = con.sql("SELECT row, coalesce(ntext, '') || chr(10) AS t, coalesce(length(ntext), 0) AS n FROM bm "
                  "WHERE role IN ('customer', 'agent')").to_arrow_table()
    rows = arrowcols.int64s(tbl.column("row"))    # (not to_numpy: it imports pandas, qc/arrowcols.py)
    lens = arrowcols.int64s(tbl.column("n"))
    big = arrowcols.joined_bytes(tbl.column("t"))     # UTF-8, searched as bytes (qc/textmatch.py)
    del tbl
    m = matcher()
    out: dict = {}

    def run():
        try:
            out["hits"] = m.scan_joined(rows, lens, big)
        except BaseException as exc:   # re-raised in finish_match, on the caller's thread
            out["error"] = exc

    th = threading.Thread(target=run, name="qc-match", daemon=True)
    th.start()
    return th, out


def finish_match(con, pending) -> dict[str, str]:
    """Stage `match`, second half: wait for the pass, resolve its hits -> `mm`.
    Returns the lexicon versions ({name: name@sha}) findings cite."""
    th, out = pending
    th.join()
    if "error" in out:
        raise out["error"]
    m = matcher()
    resolve_hits(
        con, m, out["hits"],
        lambda rs: dict(con.execute("SELECT row, ntext FROM bm WHERE row IN (SELECT unnest(?))", [list(rs)]).fetchall()),
        judged_rows_sql="SELECT row FROM bm WHERE role = 'agent'",
    )
    return m.versions


def match_text(con) -> dict[str, str]:
    """Stage `match`: one Aho-Corasick pass over customer and agent texts -> `mm`."""
    return finish_match(con, start_match(con))


# Which role's messages each classifier reads, and the labels the rules use as columns.
CLASSIFIED = {"customer_intent": ("customer", ("bargain", "complaint")),
              "agent_act": ("agent", ("apology", "followup", "rude"))}


def load_models(use_models: bool = True) -> Models:
    """The classifiers, loaded from disk (~2 s with imports and the segmenter's dictionary)."""
    from .classify import ModelError, load_model

    models = Models()
    for task in CLASSIFIED:
        models.tags[task] = "none"
        if not use_models:
            continue
        try:
            models.loaded[task] = load_model(task)
            models.tags[task] = models.loaded[task].tag
        except ModelError as exc:
            models.notes.append(f"分类模型不可用，已退回词库 (classifier unavailable, lexicons only): {exc}")
    return models


# Texts an earlier batch of the run classified, kept for the later batches (TEMP TABLE
# seen_<task>), at most this many a task (~100 bytes each): a shop's quick replies and greetings
# recur every day, and a batch of days would otherwise classify them again. Measured at 1M
# generated messages in two batches of 800k: classify 2.3 -> 1.8 s.
SEEN_MAX_TEXTS = 300_000


def classify(con, use_models: bool = True, notes: list[str] | None = None,
             models: Models | None = None, seen: dict[str, int] | None = None,
             keep: bool = False) -> tuple[Models, dict[str, tuple[str, ...]]]:
    """Stage `classify`: customer intents and agent acts for the batch's distinct texts, as
    tables probs_<task> (text, m_<label>...) on the connection; the flags stage joins them onto
    `bmf` (`_model_columns`) and releases them (`_release_probs`). Reads `bm`, so it can run
    while the match stage's thread scans. Returns the models and {task: labels} of the tables.
    `seen` (a run of several batches): {task: texts kept} of the earlier batches' seen_<task>;
    only texts not in it are classified, and with `keep` (more batches to come) this batch's
    are added while they fit under SEEN_MAX_TEXTS."""
    notes = notes if notes is not None else []
    probs_of: dict[str, tuple[str, ...]] = {}
    models = models if models is not None else load_models(use_models)
    notes.extend(models.notes)
    for task, (role, labels) in CLASSIFIED.items():
        model = models.loaded.get(task)
        if model is None:
            continue
        # Only typed text: order cards, images and emoji-only messages are not utterances the
        # models were trained on (an order card read as bargaining is a false finding); the
        # join in `_model_columns` leaves emoji-only ones out (that flag is the flags stage's).
        # A day repeats itself (快捷短语, 在吗, 好的): DuckDB hands over each distinct text once,
        # and the probabilities join back on the text.
        known = seen is not None and task in seen
        tbl = con.sql("SELECT DISTINCT text FROM bm WHERE role = ? AND msg_type = 'text'"
                      + (f" AND text NOT IN (SELECT text FROM seen_{task})" if known else ""),
                      params=[role]).to_arrow_table()
        probs = model.predict_proba(tbl.column("text").to_pylist())
        data = {"text": tbl.column("text")}
        for l in labels:
            data[f"m_{l}"] = arrowcols.numbers(probs[:, model.labels.index(l)] if len(probs) else [], pa.float64())
        probs_of[task] = labels
        if seen is None:
            con.register(f"probs_{task}", pa.table(data))
            continue
        con.register(f"new_{task}", pa.table(data))
        if not known:
            con.execute(f"CREATE OR REPLACE TEMP TABLE seen_{task} AS SELECT * FROM new_{task} LIMIT 0")
            seen[task] = 0
        if keep and seen[task] + len(tbl) <= SEEN_MAX_TEXTS:
            con.execute(f"INSERT INTO seen_{task} SELECT * FROM new_{task}")
            seen[task] += len(tbl)
            con.unregister(f"new_{task}")
            con.execute(f"CREATE OR REPLACE TEMP VIEW probs_{task} AS SELECT * FROM seen_{task}")
        else:
            # the two are disjoint: new_<task> holds only texts not in seen_<task>
            con.execute(f"CREATE OR REPLACE TEMP VIEW probs_{task} AS SELECT * FROM seen_{task} "
                        f"UNION ALL SELECT * FROM new_{task}")
    return models, probs_of


def _release_probs(con, probs_of: dict | None) -> None:
    """Drop what `classify` put on the connection for one batch (seen_<task> stays)."""
    for task in probs_of or {}:
        con.unregister(f"probs_{task}")     # a registered table (one batch) ...
        con.unregister(f"new_{task}")
        con.execute(f"DROP VIEW IF EXISTS probs_{task}")   # ... or a view over seen_<task>


def _model_columns(probs_of: dict | None) -> tuple[list[str], list[str]]:
    """The m_<label> select list and joins for the flags stage: a model's registered
    probabilities, or NULL (no signal) for a task without one."""
    selects, joins = [], []
    for task, (role, labels) in CLASSIFIED.items():
        if not probs_of or task not in probs_of:
            selects += [f"NULL::DOUBLE AS m_{l}" for l in labels]
            continue
        selects += [f"probs_{task}.m_{l}" for l in labels]
        joins.append(f"LEFT JOIN probs_{task} ON probs_{task}.text = x.text AND x.role = '{role}' "
                     f"AND x.msg_type = 'text' AND NOT x.emoji_only")
    return selects, joins


def rule_params(rule: Rule, config: Config, models: Models, versions: dict[str, str]) -> dict:
    """Everything a rule's SQL may bind: its parameters (declared defaults, then config),
    `auto` thresholds resolved from the model card, its severity, the model and lexicon tags."""
    bind = config.rule_params(rule.id)
    for name, (task, label) in rule.model_params.items():
        if bind[name] == "auto":
            model = models.loaded.get(task)
            # without the model its probabilities are NULL and the threshold is moot
            bind[name] = model.threshold(label) if model is not None else 1.0
    bind.update(severity=rule.severity, intent_model=models.tag("customer_intent"),
                act_model=models.tag("agent_act"), apology_version=versions.get("apology", "apology"))
    # whole-message lexicons as regexes, applied by the rules to their few candidate rows
    pat = whole_message_patterns()
    bind.update(closing_re=pat["closing"], closing_start_re=pat["closing_start"], courtesy_re=pat["courtesy"],
                formulas_re=pat["formulas"], price_protection_re=pat["price_protection"],
                price_topic_re=pat["price_topic"], bargain_ask_re=pat["bargain_ask"], hypothetical_re=pat["hypothetical"],
                own_fault_re=pat["own_fault"], worry_re=pat["worry"],
                complaint_pattern_re=pat["complaint_pattern"],
                service_request_re=pat["service_request"], tone_softener_re=pat["tone_softener"],
                tone_blunt_re=pat["tone_blunt"])
    return bind


def run_rules(con, rules: tuple[Rule, ...], config: Config, models: Models, versions: dict[str, str],
              timings: dict[str, float] | None = None) -> dict[str, int]:
    """Stage `rules`: each enabled rule's SQL, its rows stamped with rule id, version and
    category in SQL -> TEMP TABLE rule_results. Returns findings per rule."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE rule_results (
               conversation_id VARCHAR, message_seq BIGINT, agent_id VARCHAR, severity VARCHAR,
               subcategory VARCHAR, span_start INTEGER, span_end INTEGER, evidence VARCHAR,
               explanation VARCHAR, score DOUBLE, key VARCHAR,
               rule_id VARCHAR, rule_version VARCHAR, category VARCHAR)"""
    )
    by_rule: dict[str, int] = {}
    cols = ", ".join("k.conversation_id" if c == "conversation_id" else f"r.{c}" for c in FINDING_COLUMNS)
    for rule in rules:
        if not config.rule_enabled(rule.id):
            continue
        t = time.perf_counter()
        bind = rule_params(rule, config, models, versions)
        bind.update(rule_id=rule.id, rule_version=rule.version, rule_category=rule.category)
        # a rule returns `cid` where a finding has conversation_id (qc/rules/base.py)
        sql = (f"INSERT INTO rule_results SELECT {cols}, $rule_id, $rule_version, $rule_category "
               f"FROM ({rule_statement(rule)}) AS r JOIN scope_cid k USING (cid)")
        n = sqlfiles.execute(con, sql, bind, where=f"qc/rules/sql/{rule.sql}").fetchall()[0][0]
        by_rule[rule.id] = n
        if timings is not None:
            timings[f"rule:{rule.id}"] = timings.get(f"rule:{rule.id}", 0.0) + time.perf_counter() - t   # summed over batches
    return by_rule


# Labels whose higher probability raises a finding, with the rule parameter that is their bar.
RISK_LABELS = {"complaint": ("customer", "missing_apology", "complaint_threshold"),
               "bargain": ("customer", "bargain_followup_late", "bargain_threshold"),
               "rude": ("agent", "rude_tone", "threshold")}
NEAR_MISS_FLOOR = 0.5


def near_miss_bars(config: Config, models: Models, versions: dict[str, str]) -> dict[str, float]:
    """The threshold in effect for each risk label (only where its model ran)."""
    from .rules import BY_ID

    out = {}
    for label, (_, rule_id, param) in RISK_LABELS.items():
        if rule_id in BY_ID and config.rule_enabled(rule_id):
            task = BY_ID[rule_id].model_params.get(param, (None,))[0]
            if task in models.loaded:
                out[label] = float(rule_params(BY_ID[rule_id], config, models, versions)[param])
    return out


def store_near_misses(con, run_id: int, bars: dict[str, float]) -> int:
    """Stage part of `write`: replace the scope's near misses (p in [0.5, threshold))."""
    con.execute("DELETE FROM model_near_misses WHERE conversation_id IN (SELECT conversation_id FROM scope_conv)")
    parts, params = [], []
    for label, bar in bars.items():
        role = RISK_LABELS[label][0]
        parts.append(f"SELECT conversation_id, seq, '{label}', m_{label}, ?::DOUBLE, ?::BIGINT FROM bmf "
                     f"WHERE role = '{role}' AND m_{label} >= {NEAR_MISS_FLOOR} AND m_{label} < ?")
        params += [bar, run_id, bar]
    if not parts:
        return 0
    return con.execute("INSERT INTO model_near_misses " + " UNION ALL ".join(parts), params).fetchall()[0][0]


def store_findings(con, run_id: int) -> int:
    """Stage `write`: replace the scope's rule findings with `rule_results`. The finding id
    is (conversation, rule, the flagged message's identity, key): the message's content key,
    not its seq, so a review stays attached when late messages renumber the conversation."""
    con.execute(
        "DELETE FROM findings WHERE source = 'rule' AND conversation_id IN (SELECT conversation_id FROM scope_conv)"
    )
    n = con.execute(
        """
        INSERT INTO findings
        SELECT
            substr(sha1(concat_ws(chr(31), n.conversation_id, n.rule_id,
                                  coalesce(b.msg_key, ''), coalesce(n.key, ''))), 1, 20),
            n.conversation_id, n.message_seq, n.agent_id, c.shop_id, c.day,
            n.rule_id, n.rule_version, n.severity, n.category, n.subcategory,
            n.span_start, n.span_end, n.evidence, n.explanation, 'rule', n.score, ?, now()
        FROM rule_results n
        JOIN conversations c USING (conversation_id)
        LEFT JOIN bm b ON b.conversation_id = n.conversation_id AND b.seq = n.message_seq
        """,
        [run_id],
    ).fetchall()[0][0]
    con.execute(
        "UPDATE conversations SET needs_inspection = false WHERE conversation_id IN (SELECT conversation_id FROM scope_conv)"
    )
    return n


TEMP_TABLES = ("bm", "bmf", "scope_cid", "mm", "scope_orders", "rule_results", "ack_norm", "scope_all", "rr_all", "bm_keys",
               "near_all") + tuple(f"seen_{task}" for task in CLASSIFIED)

# Messages per inspection batch (QC_INSPECT_BATCH_MESSAGES), and DuckDB's memory cap while
# inspecting a database file (QC_INSPECT_MEMORY_LIMIT, "none" = the store's cap). Measured on
# 3.2M messages with the classifiers: one batch peaks at 3.9 GB; under the 2 GB cap batches of
# 1.2M peaked at 2.16 GB and of 800k at 1.68 GB (DuckDB keeps the history it scanned cached up
# to its cap); under 1.3 GB, batches of 1.2M peak at 1.74 GB in the same time (20.2 s against
# 20.4 s). A 1M-message month is then one batch: 7.1-7.3 s against 7.9-8.1 s in two (three
# alternating pairs), peak 1.34 GB. A scope above it is inspected a batch of days at a time.
INSPECT_MEMORY_LIMIT = os.environ.get("QC_INSPECT_MEMORY_LIMIT", "1300MB")
BATCH_MESSAGES = int(os.environ.get("QC_INSPECT_BATCH_MESSAGES", "1200000"))


def plan_batches(con, limit: int) -> list[list[str]]:
    """The scope's conversation days in order, cut into batches of at most `limit` messages
    (a day larger than the limit is one batch on its own)."""
    rows = con.execute("""SELECT c.day::VARCHAR, sum(c.n_messages) FROM conversations c JOIN scope_conv USING (conversation_id)
                          GROUP BY 1 ORDER BY 1""").fetchall()
    batches, cur, n = [], [], 0
    for d, m in rows:
        if cur and n + m > limit:
            batches.append(cur)
            cur, n = [], 0
        cur.append(d)
        n += m
    if cur:
        batches.append(cur)
    return batches or [[]]


def _keep_batch(con, first: bool, run_id: int, bars: dict[str, float]) -> None:
    """Between batches, keep only what the write stage needs: the rule results, the flagged
    messages' keys (finding ids are built from them) and the model near misses."""
    mode = "CREATE OR REPLACE TEMP TABLE {t} AS" if first else "INSERT INTO {t}"
    con.execute(mode.format(t="rr_all") + " SELECT * FROM rule_results")
    con.execute(mode.format(t="bm_keys") + """ SELECT DISTINCT b.conversation_id, b.seq, b.msg_key FROM bm b
                  JOIN rule_results r ON r.conversation_id = b.conversation_id AND r.message_seq = b.seq""")
    cols = ", ".join(f"m_{l}" for l in RISK_LABELS)
    con.execute(mode.format(t="near_all") + f" SELECT conversation_id, seq, role, {cols} FROM bmf WHERE "
                + (" OR ".join(f"m_{l} >= {NEAR_MISS_FLOOR}" for l in RISK_LABELS)))


def inspect(con, day: date | str | None = None, all_: bool = False, config: Config | None = None,
            rules: tuple[Rule, ...] | None = None, use_models: bool = True, progress=None,
            models: Models | None = None) -> InspectReport:
    """Inspect the conversations in scope and replace their rule findings. Idempotent.
    `progress(stage_name)` is called as each stage starts (the CLI's progress bar). `models`:
    classifiers already loaded (a worker inspecting many partitions loads them once)."""
    capped = _cap_memory(con)
    try:
        return _inspect(con, day, all_, config, rules, use_models, progress, models)
    finally:
        if capped:
            store.apply_memory_limit(con)


def _cap_memory(con) -> bool:
    """Lower DuckDB's memory cap to INSPECT_MEMORY_LIMIT for a database file (True: the
    store's cap is to be put back). An in-memory database (a Dask worker's) keeps its cap: its
    tables cannot be evicted, and a lower cap would only make it fail."""
    if INSPECT_MEMORY_LIMIT.lower() == "none":
        return False
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    if not path:
        return False
    try:
        con.execute("SET memory_limit = ?", [INSPECT_MEMORY_LIMIT])
    except Exception as exc:  # a typo in the variable must name itself
        from .errors import QCError

        raise QCError(f"QC_INSPECT_MEMORY_LIMIT={INSPECT_MEMORY_LIMIT!r}: 不是有效的内存上限 "
                      f"(not a memory size such as 1300MB): {exc}") from None
    return True


def _inspect(con, day, all_, config, rules, use_models, progress, models) -> InspectReport:
    config = config or load_config()
    rules = rules or RULES
    t0 = time.perf_counter()
    # A run still 'running' was killed (one writer at a time): say so instead of leaving it open.
    con.execute("UPDATE inspect_runs SET status = 'interrupted' WHERE status = 'running' OR (status IS NULL AND finished_at IS NULL)")
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM inspect_runs").fetchall()[0][0]
    scope = select_scope(con, day, all_)
    rep = InspectReport(run_id, scope)
    con.execute("INSERT INTO inspect_runs (run_id, started_at, scope, status) VALUES (?, now(), ?, 'running')", [run_id, scope])
    rep.conversations = con.execute("SELECT count(*) FROM scope_conv").fetchall()[0][0]
    stages = rep.stages
    stages["scope"] = time.perf_counter() - t0

    def stage(name, fn, *args, **kw):
        if progress:
            progress(name)
        t = time.perf_counter()
        out = fn(*args, **kw)
        stages[name] = stages.get(name, 0.0) + time.perf_counter() - t
        point(f"inspect.{name}")
        return out

    batches = plan_batches(con, BATCH_MESSAGES)
    if len(batches) > 1:
        # Bounded memory: the scope's days in batches of at most BATCH_MESSAGES messages, each
        # through the text stages and the rules; only the results (and the flagged messages'
        # keys) are kept between batches. A conversation is whole in its batch (by its day),
        # and no rule looks across conversations: the findings are those of one batch.
        con.execute("CREATE OR REPLACE TEMP TABLE scope_all AS SELECT * FROM scope_conv")
        rep.notes.append(f"分 {len(batches)} 批质检 (inspected in {len(batches)} batches of at most {BATCH_MESSAGES} messages)")
    if models is None:
        models = stage("classify", load_models, use_models)     # once per run, whatever the batches
    versions: dict[str, str] = {}
    by_rule: dict[str, int] = {}
    bars: dict[str, float] = {}
    seen: dict[str, int] | None = {} if len(batches) > 1 else None    # texts classified by earlier batches
    for i, days in enumerate(batches):
        if len(batches) > 1:
            con.execute("""CREATE OR REPLACE TEMP TABLE scope_conv AS SELECT s.conversation_id FROM scope_all s
                           JOIN conversations c USING (conversation_id) WHERE c.day IN (SELECT unnest(?::DATE[]))""", [days])
        rep.messages += stage("batch", build_batch, con)
        # The lexicon scan runs in a thread (Rust, no GIL) while the classifiers run here:
        # on two cores the two overlap. (Loading the models in a thread beside the DuckDB
        # stages was tried: there the unpickling slowed batch and match by as much as it saved.)
        scan = stage("match", start_match, con)
        models, probs_of = stage("classify", classify, con, use_models, rep.notes if i == 0 else [], models,
                                 seen, keep=i < len(batches) - 1)
        versions = stage("match", finish_match, con, scan)
        stage("flags", flag_messages, con, probs_of)
        for rule_id, n in stage("rules", run_rules, con, rules, config, models, versions, stages).items():
            by_rule[rule_id] = by_rule.get(rule_id, 0) + n
        bars = near_miss_bars(config, models, versions)
        if len(batches) > 1:
            _keep_batch(con, i == 0, run_id, bars)
    if len(batches) > 1:
        # the whole scope again, with every batch's results, for the write stage
        con.execute("CREATE OR REPLACE TEMP TABLE scope_conv AS SELECT * FROM scope_all")
        con.execute("CREATE OR REPLACE TEMP TABLE rule_results AS SELECT * FROM rr_all")
        con.execute("CREATE OR REPLACE TEMP TABLE bm AS SELECT * FROM bm_keys")
        con.execute("CREATE OR REPLACE TEMP TABLE bmf AS SELECT * FROM near_all")
    rep.models = dict(models.tags)
    rep.by_rule = by_rule
    rep.findings = sum(by_rule.values())

    if progress:
        progress("write")
    t = time.perf_counter()
    with store.transaction(con):
        store_findings(con, run_id)
        store_near_misses(con, run_id, bars)
        point("inspect.findings_written")
        stages["write"] = time.perf_counter() - t
        stages["total"] = time.perf_counter() - t0
        con.execute(
            "UPDATE inspect_runs SET finished_at = now(), status = 'finished', conversations = ?, messages = ?, findings = ?, stages = ?, notes = ? WHERE run_id = ?",
            [rep.conversations, rep.messages, rep.findings, json.dumps(stages), json.dumps(rep.notes, ensure_ascii=False), run_id],
        )
    point("inspect.committed")
    con.execute("CHECKPOINT")  # see qc/ingest.py: DuckDB 2.0.0 same-connection visibility
    for tmp in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {tmp}")
    return rep
