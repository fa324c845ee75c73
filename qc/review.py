"""Reviews: users, decisions, appeals, manual findings, spot checks and the audit log.

Why a journal beside the database. DuckDB admits one read-write process per file, and no
reader in another process while it writes — but QC specialists decide findings in the
morning while a late inspection or the shift flow may be writing. So every human decision
is first committed to the *review journal*, a SQLite file beside the database
(`data/qc.duckdb` → `data/qc.review.sqlite`, WAL mode, synchronous=FULL), which any number
of processes can write at any time. Only then does the page (or `qc review`) say it is
saved. The journal is applied to DuckDB's `reviews` / `findings` / `spot_checks` tables:

* by every writer as it opens the database (`store.connect` calls `apply_pending`), so an
  inspection or a scorecard always counts the decisions made before it started;
* by `qc review` at once when the database is free, and by the console's sync loop.

Applying is idempotent (each decision carries its journal id, migration 9): a process
killed between the two writes leaves the entry unapplied, and the next writer applies it
once. Users (scrypt password hashes), login attempts and the audit log live only here:
they are the console's own data, not analytics.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path

from .config import ROLES
from .errors import QCError
from .findings import STATUS_ZH, WITHDRAWN

SCHEMA = """
-- one row per setting (the session-signing secret)
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- one row per console user. agent: the agent_id whose conversations an agent may read;
-- team: the shop a lead (组长) sees.
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, team TEXT, agent_id TEXT,
    pw_hash TEXT NOT NULL, created_at TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1);
-- one row per login attempt (rate limiting)
CREATE TABLE IF NOT EXISTS logins (id INTEGER PRIMARY KEY, name TEXT, ip TEXT, at REAL NOT NULL, ok INTEGER NOT NULL);
-- one row per decision on a finding; applied_at: when it reached the DuckDB database
CREATE TABLE IF NOT EXISTS decisions (
    decision_id TEXT PRIMARY KEY, finding_id TEXT NOT NULL, decision TEXT NOT NULL,
    reviewer TEXT NOT NULL, reason TEXT, decided_at TEXT NOT NULL, applied_at TEXT);
CREATE INDEX IF NOT EXISTS decisions_unapplied ON decisions (applied_at) WHERE applied_at IS NULL;
CREATE INDEX IF NOT EXISTS decisions_finding ON decisions (finding_id, decided_at);
-- one row per finding a reviewer added by hand
CREATE TABLE IF NOT EXISTS manual_findings (
    finding_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, message_seq INTEGER,
    rule_id TEXT NOT NULL, severity TEXT NOT NULL, category TEXT NOT NULL, note TEXT,
    reviewer TEXT NOT NULL, created_at TEXT NOT NULL, applied_at TEXT);
-- one row per conversation a reviewer spot-checked (抽检) and passed or flagged
CREATE TABLE IF NOT EXISTS spot_checks (
    conversation_id TEXT PRIMARY KEY, period TEXT NOT NULL, drawn_by TEXT NOT NULL,
    drawn_at TEXT NOT NULL, applied_at TEXT);
-- one row per action: who, when, what, before, after (an audit log: never updated)
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT, before TEXT, after TEXT, ip TEXT);
"""

# What each action turns a finding's status into, and from which statuses it may.
ACTIONS = {
    "confirm": ("confirmed", {"pending", "confirmed", "dismissed", "appeal_upheld", "appeal_rejected"}),
    "dismiss": ("dismissed", {"pending", "confirmed", "dismissed", "appeal_upheld", "appeal_rejected"}),
    "appeal": ("appealed", {"confirmed"}),
    "uphold": ("appeal_upheld", {"appealed"}),      # 申诉成立: the finding is withdrawn
    "reject": ("appeal_rejected", {"appealed"}),    # 申诉驳回: the finding stands
}
ACTION_ZH = {"confirm": "确认", "dismiss": "驳回", "appeal": "申诉", "uphold": "申诉成立", "reject": "申诉驳回",
             "manual": "人工添加问题", "spot_pass": "抽检通过", "login": "登录", "user_add": "添加用户"}
SEVERITIES = ("low", "medium", "high", "redline")
CATEGORIES = ("业务类", "能力类", "态度类")
MAX_REASON = 500
MAX_FAILED_LOGINS = 5          # per user name …
MAX_FAILED_PER_ADDRESS = 20    # … or per address (higher: a shop's office shares one address) …
LOGIN_WINDOW_S = 600           # … within ten minutes, then refused until the window passes


class ReviewError(QCError):
    """A decision that is not allowed (wrong role, wrong status, missing reason)."""


class NotAllowed(ReviewError):
    """The user's role or scope does not permit this."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def journal_path(db: str | os.PathLike) -> Path | None:
    """The journal beside a database file (None for an in-memory database)."""
    p = Path(db)
    if str(p) == ":memory:":
        return None
    return p.with_name(p.stem + ".review.sqlite")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    team: str | None = None
    agent_id: str | None = None

    @property
    def reviews(self) -> bool:
        return self.role in ("admin", "qc")


class Journal:
    """The review journal of one database. Open with `Journal.open(db)`; thread-safe per
    call (each call uses its own short SQLite connection)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as c:
            c.executescript(SCHEMA)

    @classmethod
    def open(cls, db) -> "Journal":
        jp = journal_path(db)
        if jp is None:
            raise QCError("内存数据库没有复核日志 (an in-memory database has no review journal)")
        return cls(jp)

    @classmethod
    def existing(cls, db) -> "Journal | None":
        jp = journal_path(db)
        return cls(jp) if jp is not None and jp.exists() else None

    @contextmanager
    def _connect(self):
        c = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            c.execute("PRAGMA journal_mode=WAL")
            # FULL: a decision is on disk before COMMIT returns, so before the page says 已保存.
            c.execute("PRAGMA synchronous=FULL")
            yield c
        finally:
            c.close()

    @contextmanager
    def tx(self):
        with self._connect() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def query(self, sql: str, params=()) -> list[tuple]:
        with self._connect() as c:
            return c.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ settings, users

    def secret(self) -> str:
        """The key that signs session cookies: made once, kept in the journal."""
        with self.tx() as c:
            row = c.execute("SELECT value FROM settings WHERE key = 'session_secret'").fetchone()
            if row:
                return row[0]
            value = secrets.token_urlsafe(32)
            c.execute("INSERT INTO settings VALUES ('session_secret', ?)", [value])
            return value

    def add_user(self, name: str, role: str, password: str, team: str | None = None, agent_id: str | None = None,
                 actor: str = "cli") -> User:
        name = (name or "").strip()
        if not name or len(name) > 64:
            raise ReviewError("用户名不能为空，且不超过 64 个字符 (user name must be 1–64 characters)")
        if role not in ROLES:
            raise ReviewError(f"未知角色 {role!r} (unknown role); 可选 (roles): {', '.join(ROLES)}")
        if role == "lead" and not team:
            raise ReviewError("组长 (lead) 需要 --team：其所管店铺 (a lead needs --team: the shop they lead)")
        if len(password) < 8:
            raise ReviewError("密码至少 8 个字符 (password must have at least 8 characters)")
        if role == "agent" and not agent_id:
            agent_id = name
        with self.tx() as c:
            if c.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
                raise ReviewError(f"用户 {name!r} 已存在 (user exists)")
            c.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, 1)",
                      [name, role, team, agent_id, hash_password(password), now_iso()])
            _audit(c, actor, "user_add", name, None, {"role": role, "team": team, "agent_id": agent_id})
        return User(name, role, team, agent_id)

    def user(self, name: str) -> User | None:
        rows = self.query("SELECT name, role, team, agent_id FROM users WHERE name = ? AND active = 1", [name])
        return User(*rows[0]) if rows else None

    def users(self) -> list[User]:
        return [User(*r) for r in self.query("SELECT name, role, team, agent_id FROM users WHERE active = 1 ORDER BY name")]

    def login(self, name: str, password: str, ip: str | None = None) -> User:
        """The user, or ReviewError. Refuses (without checking the password) after
        MAX_FAILED_LOGINS failures for that name, or MAX_FAILED_PER_ADDRESS from that
        address, within LOGIN_WINDOW_S."""
        since = time.time() - LOGIN_WINDOW_S
        with self.tx() as c:
            by_name, by_ip = c.execute(
                "SELECT count(*) FILTER (WHERE name = ?), count(*) FILTER (WHERE ip = ?) FROM logins WHERE ok = 0 AND at > ?",
                [name, ip or "-", since]).fetchone()
            if by_name >= MAX_FAILED_LOGINS or by_ip >= MAX_FAILED_PER_ADDRESS:
                raise RateLimited("登录失败次数过多，请 10 分钟后再试 (too many failed logins; try again in 10 minutes)")
            row = c.execute("SELECT name, role, team, agent_id, pw_hash FROM users WHERE name = ? AND active = 1",
                            [name]).fetchone()
            ok = bool(row) and verify_password(password, row[4])
            if not row:
                verify_password(password, _dummy_hash())    # same time whether or not the name exists
            c.execute("INSERT INTO logins (name, ip, at, ok) VALUES (?, ?, ?, ?)", [name, ip or "-", time.time(), int(ok)])
            if ok:
                _audit(c, name, "login", name, None, None, ip)
        if not ok:
            raise ReviewError("用户名或密码错误 (wrong user name or password)")
        return User(*row[:4])

    # ------------------------------------------------------------------ decisions

    def decide(self, actor: User, finding, action: str, reason: str | None = None, ip: str | None = None) -> dict:
        """Record `action` on `finding` (a qc.findings.Finding as the actor's reader sees it,
        with its current review status). Checks role, scope and status; commits the decision
        and its audit line together; returns the journal row."""
        if action not in ACTIONS:
            raise ReviewError(f"未知操作 {action!r} (unknown action); 可选: {', '.join(ACTIONS)}")
        reason = clean_reason(reason)
        new, allowed_from = ACTIONS[action]
        if action == "appeal":
            if actor.role != "agent" and not actor.reviews:
                raise NotAllowed("只有客服本人可以申诉 (only the agent may appeal)")
            if actor.role == "agent" and finding.agent_id != actor.agent_id:
                raise NotAllowed("只能申诉自己的问题 (an agent may appeal only their own findings)")
            if not reason:
                raise ReviewError("申诉需要填写理由 (an appeal needs a reason)")
        else:
            if not actor.reviews:
                raise NotAllowed("只有质检员可以审核 (only QC reviewers decide findings)")
            if action == "dismiss" and not reason:
                raise ReviewError("驳回需要选择或填写原因 (a dismissal needs a reason)")
        status = finding.review_status
        if status not in allowed_from:
            raise ReviewError(f"问题 {finding.finding_id} 当前状态为{STATUS_ZH.get(status, status)}，不能执行“{ACTION_ZH[action]}” "
                              f"(cannot {action} a finding that is {status})")
        if action in ("uphold", "reject"):
            confirmer = self.last_reviewer(finding.finding_id, ("confirmed",)) or finding.reviewer
            if confirmer == actor.name:
                raise NotAllowed("申诉须由另一位质检员处理，不能由确认该问题的人裁定 "
                                 "(an appeal is decided by a second reviewer, not the one who confirmed it)")
        row = {"decision_id": uuid.uuid4().hex, "finding_id": finding.finding_id, "decision": new,
               "reviewer": actor.name, "reason": reason, "decided_at": now_iso()}
        with self.tx() as c:
            c.execute("INSERT INTO decisions (decision_id, finding_id, decision, reviewer, reason, decided_at) "
                      "VALUES (:decision_id, :finding_id, :decision, :reviewer, :reason, :decided_at)", row)
            _audit(c, actor.name, action, finding.finding_id, {"status": status}, {"status": new, "reason": reason}, ip)
        return row

    def last_reviewer(self, finding_id: str, decisions: tuple[str, ...]) -> str | None:
        marks = ",".join("?" * len(decisions))
        rows = self.query(f"SELECT reviewer FROM decisions WHERE finding_id = ? AND decision IN ({marks}) "
                          "ORDER BY decided_at DESC LIMIT 1", [finding_id, *decisions])
        return rows[0][0] if rows else None

    def add_manual(self, actor: User, conversation_id: str, message_seq: int | None, rule_id: str, severity: str,
                   category: str, note: str | None, ip: str | None = None) -> str:
        """A finding a reviewer adds by hand (confirmed by its author). Returns its id."""
        if not actor.reviews:
            raise NotAllowed("只有质检员可以添加问题 (only QC reviewers add findings)")
        if severity not in SEVERITIES:
            raise ReviewError(f"未知严重度 {severity!r}; 可选: {', '.join(SEVERITIES)}")
        if category not in CATEGORIES:
            raise ReviewError(f"未知类别 {category!r}; 可选: {', '.join(CATEGORIES)}")
        note = clean_reason(note)
        fid = "m" + uuid.uuid4().hex[:19]
        at = now_iso()
        with self.tx() as c:
            c.execute("INSERT INTO manual_findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                      [fid, conversation_id, message_seq, rule_id, severity, category, note, actor.name, at])
            c.execute("INSERT INTO decisions (decision_id, finding_id, decision, reviewer, reason, decided_at) "
                      "VALUES (?, ?, 'confirmed', ?, ?, ?)", [uuid.uuid4().hex, fid, actor.name, note or "人工添加", at])
            _audit(c, actor.name, "manual", fid, None,
                   {"conversation_id": conversation_id, "message_seq": message_seq, "rule_id": rule_id,
                    "severity": severity, "category": category, "note": note}, ip)
        return fid

    def spot_pass(self, actor: User, conversation_id: str, period: str, ip: str | None = None) -> None:
        """A spot-checked conversation the reviewer read and passed (抽检通过)."""
        if not actor.reviews:
            raise NotAllowed("只有质检员可以抽检 (only QC reviewers spot-check)")
        with self.tx() as c:
            c.execute("INSERT OR IGNORE INTO spot_checks VALUES (?, ?, ?, ?, NULL)",
                      [conversation_id, period, actor.name, now_iso()])
            _audit(c, actor.name, "spot_pass", conversation_id, None, {"period": period}, ip)

    def audit(self, limit: int = 200, offset: int = 0) -> list[dict]:
        rows = self.query("SELECT id, at, actor, action, target, before, after, ip FROM audit ORDER BY id DESC LIMIT ? OFFSET ?",
                          [limit, offset])
        keys = ("id", "at", "actor", "action", "target", "before", "after", "ip")
        return [dict(zip(keys, r)) for r in rows]

    # ------------------------------------------------------------------ applying to DuckDB

    def pending(self) -> tuple[list[tuple], list[tuple], list[tuple]]:
        return (
            self.query("SELECT decision_id, finding_id, decision, reviewer, reason, decided_at FROM decisions "
                       "WHERE applied_at IS NULL ORDER BY decided_at"),
            self.query("SELECT finding_id, conversation_id, message_seq, rule_id, severity, category, note, reviewer, "
                       "created_at FROM manual_findings WHERE applied_at IS NULL"),
            self.query("SELECT conversation_id, period, drawn_by, drawn_at FROM spot_checks WHERE applied_at IS NULL"),
        )

    def has_pending(self) -> bool:
        return bool(self.query(
            "SELECT 1 FROM decisions WHERE applied_at IS NULL UNION ALL SELECT 1 FROM manual_findings "
            "WHERE applied_at IS NULL UNION ALL SELECT 1 FROM spot_checks WHERE applied_at IS NULL LIMIT 1"))

    def apply_pending(self, con) -> int:
        """Write the unapplied journal entries into the DuckDB database `con` (a writer),
        then mark them applied. Returns how many decisions were new to the database."""
        decisions, manual, spots = self.pending()
        if not (decisions or manual or spots):
            return 0
        n = write_entries(con, decisions, manual, spots)
        at = now_iso()
        with self.tx() as c:
            c.executemany("UPDATE decisions SET applied_at = ? WHERE decision_id = ?", [(at, d[0]) for d in decisions])
            c.executemany("UPDATE manual_findings SET applied_at = ? WHERE finding_id = ?", [(at, m[0]) for m in manual])
            c.executemany("UPDATE spot_checks SET applied_at = ? WHERE conversation_id = ?", [(at, s[0]) for s in spots])
        return n


class RateLimited(ReviewError):
    """Too many failed logins."""


def write_entries(con, decisions, manual, spots) -> int:
    """Insert journal entries into a DuckDB qc database, skipping those already there (by
    decision id / finding id / conversation): safe to repeat. One transaction."""
    from . import store

    with store.transaction(con):
        for m in manual:
            fid, conv, seq, rule_id, severity, category, note, reviewer, created = m
            evidence = json.dumps({"manual": True, "note": note, "reviewer": reviewer}, ensure_ascii=False)
            con.execute(
                """INSERT INTO findings (finding_id, conversation_id, message_seq, agent_id, shop_id, day, rule_id,
                       rule_version, severity, category, subcategory, span_start, span_end, evidence, explanation,
                       source, score, run_id, created_at)
                   SELECT ?, c.conversation_id, ?, coalesce(m.agent_id, c.agents[1]), c.shop_id, c.day, ?, 'manual', ?, ?,
                          NULL, NULL, NULL, ?, ?, 'manual', NULL, NULL, ?::TIMESTAMPTZ
                   FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.conversation_id AND m.seq = ?
                   WHERE c.conversation_id = ? AND NOT EXISTS (SELECT 1 FROM findings WHERE finding_id = ?)""",
                [fid, seq, rule_id, severity, category, evidence,
                 f"人工添加（{reviewer}）：{note or '无说明'}", created, seq, conv, fid])
        new = 0
        for d in decisions:
            n = con.execute(
                """INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at, decision_id)
                   SELECT ?, ?, ?, ?, ?::TIMESTAMPTZ, ?
                   WHERE NOT EXISTS (SELECT 1 FROM reviews WHERE decision_id = ?)""",
                [d[1], d[2], d[3], d[4], d[5], d[0], d[0]]).fetchall()[0][0]
            new += n
        for s in spots:
            con.execute("INSERT INTO spot_checks SELECT ?, ?, ?, ?::TIMESTAMPTZ WHERE NOT EXISTS "
                        "(SELECT 1 FROM spot_checks WHERE conversation_id = ?)", [s[0], s[1], s[2], s[3], s[0]])
    return new


def join_reason(preset: str | None, free: str | None) -> str | None:
    """The stored reason: the preset, then " — " and the reviewer's own words."""
    parts = [p.strip() for p in (preset, free) if p and p.strip()]
    return " — ".join(parts) or None


def clean_reason(text: str | None) -> str | None:
    if text is None:
        return None
    text = "".join(ch for ch in str(text) if ch.isprintable() or ch == "\n").strip()
    return text[:MAX_REASON] or None


# ---------------------------------------------------------------------- passwords

_N, _R, _P = 2 ** 14, 8, 1      # scrypt cost (RFC 7914's interactive-login parameters)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    h = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(h).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, h = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(base64.b64decode(h)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(h))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # made on first use, not at import: every qc command imports this module (store.connect)
    return hash_password("not-a-password")


def _audit(c, actor, action, target, before, after, ip=None) -> None:
    c.execute("INSERT INTO audit (at, actor, action, target, before, after, ip) VALUES (?, ?, ?, ?, ?, ?, ?)",
              [now_iso(), actor, action, target,
               json.dumps(before, ensure_ascii=False) if before is not None else None,
               json.dumps(after, ensure_ascii=False) if after is not None else None, ip])


# ---------------------------------------------------------------------- precision per rule

def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval (95 %) for k successes in n trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


# Statuses that count as a true finding (precision's numerator) and as a false one.
TRUE_STATUSES = ("confirmed", "appealed", "appeal_rejected")
FALSE_STATUSES = WITHDRAWN


def rule_stats(con) -> list[dict]:
    """Measured precision per rule from the reviewers' decisions: confirmed / (confirmed +
    dismissed) with its Wilson interval, by ISO week of the flagged chat, and the dismiss
    reasons. Manual findings are left out (a reviewer's own finding says nothing of a rule)."""
    t = ", ".join(f"'{s}'" for s in TRUE_STATUSES)
    f = ", ".join(f"'{s}'" for s in FALSE_STATUSES)
    base = f"""SELECT fi.rule_id, fi.day, r.decision, r.reason,
                      CASE WHEN r.decision IN ({t}) THEN 1 WHEN r.decision IN ({f}) THEN 0 END AS ok
               FROM findings fi LEFT JOIN review_latest r USING (finding_id) WHERE fi.source <> 'manual'"""
    rows = con.execute(f"""SELECT rule_id, count(*), count(ok), coalesce(sum(ok), 0) FROM ({base}) GROUP BY rule_id ORDER BY rule_id""").fetchall()
    weeks = con.execute(f"""SELECT rule_id, strftime(date_trunc('week', day), '%G-W%V') AS wk, count(ok), coalesce(sum(ok), 0)
                            FROM ({base}) WHERE ok IS NOT NULL GROUP BY ALL ORDER BY rule_id, wk""").fetchall()
    # A reason is "preset" or "preset — free text" (the console joins them so): group by the preset.
    reasons = con.execute(f"""SELECT rule_id, coalesce(nullif(trim(split_part(reason, ' — ', 1)), ''), '（无）'), count(*)
                              FROM ({base}) WHERE ok = 0 GROUP BY ALL ORDER BY rule_id, 3 DESC, 2""").fetchall()
    out = []
    for rule_id, findings, reviewed, confirmed in rows:
        lo, hi = wilson(confirmed, reviewed)
        out.append({
            "rule_id": rule_id, "findings": findings, "reviewed": reviewed, "confirmed": confirmed,
            "dismissed": reviewed - confirmed,
            "precision": (confirmed / reviewed) if reviewed else None,
            "ci_low": lo if reviewed else None, "ci_high": hi if reviewed else None,
            "weeks": [{"week": w, "reviewed": n, "confirmed": k, "precision": k / n} for r, w, n, k in weeks if r == rule_id],
            "dismiss_reasons": [{"reason": why, "count": c} for r, why, c in reasons if r == rule_id],
        })
    return out
