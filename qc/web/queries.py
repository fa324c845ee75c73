"""The console's queries: the review queue, its counts, the next item, the spot-check draw.

Every query takes the user and adds their scope (an agent: their own findings and
conversations; a lead: their shop) as bound parameters — the scope is in the SQL, so
changing an id in the address bar cannot reach another agent's chats. Grain is stated
above each query.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from ..findings import SEVERITY_ORDER
from ..review import User

# The four queue states a reviewer filters by (DESIGN.md review_status values grouped).
STATUS_GROUPS = {
    "pending": ("pending",),
    "confirmed": ("confirmed", "appeal_rejected"),
    "dismissed": ("dismissed", "appeal_upheld"),
    "appealed": ("appealed",),
}
STATUS_GROUP_ZH = {"pending": "待审", "confirmed": "已确认", "dismissed": "已驳回", "appealed": "申诉中"}
SEV_RANK_SQL = "CASE f.severity " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in SEVERITY_ORDER.items()) + " ELSE 0 END"
GROUP_SQL = ("CASE " + " ".join(
    "WHEN coalesce(r.decision, 'pending') IN (" + ", ".join(f"'{s}'" for s in sts) + f") THEN '{g}'"
    for g, sts in STATUS_GROUPS.items()) + " END")


@dataclass
class QueueFilter:
    day: str | None = None
    shop: str | None = None
    agent: str | None = None
    rule: str | None = None
    severity: str | None = None
    status: str | None = "pending"
    page: int = 1

    @classmethod
    def from_query(cls, q) -> "QueueFilter":
        def val(k):
            v = q.get(k)
            return v.strip() if isinstance(v, str) and v.strip() else None
        status = q.get("status", "pending")
        status = status if status in STATUS_GROUPS or status == "all" else "pending"
        try:
            page = max(1, int(q.get("page") or 1))
        except ValueError:
            page = 1
        day = val("day")
        if day:
            try:
                date.fromisoformat(day)
            except ValueError:
                day = None
        return cls(day=day, shop=val("shop"), agent=val("agent"), rule=val("rule"), severity=val("severity"),
                   status=None if status == "all" else status, page=page)

    def params(self, **override) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(override)
        if d.get("status") is None:
            d["status"] = "all"
        return {k: v for k, v in d.items() if v not in (None, "") and not (k == "page" and v == 1)}


def scope_sql(user: User, alias: str = "f") -> tuple[str, list]:
    """The rows of findings (alias f) a user may read."""
    if user.role == "agent":
        return f"{alias}.agent_id = ?", [user.agent_id]
    if user.role == "lead":
        return f"{alias}.shop_id = ?", [user.team]
    return "true", []


def conv_scope_sql(user: User) -> tuple[str, list]:
    """The conversations (alias c) a user may read."""
    if user.role == "agent":
        return "list_contains(c.agents, ?)", [user.agent_id]
    if user.role == "lead":
        return "c.shop_id = ?", [user.team]
    return "true", []


def _base(user: User, flt: QueueFilter, with_status: bool = True, skip: str | None = None) -> tuple[str, list]:
    """One row per finding the user may see that matches the filter (except `skip`)."""
    where, params = [], []
    s, p = scope_sql(user)
    where.append(s)
    params += p
    for col, key in (("f.day", "day"), ("f.shop_id", "shop"), ("f.agent_id", "agent"), ("f.rule_id", "rule"),
                     ("f.severity", "severity")):
        v = getattr(flt, key)
        if v is not None and key != skip:
            where.append(f"{col} = ?" + ("::DATE" if key == "day" else ""))
            params.append(v)
    status = f"{GROUP_SQL} = ?" if (with_status and flt.status and skip != "status") else None
    sql = (f"SELECT f.finding_id, f.conversation_id, f.day, f.shop_id, f.agent_id, f.rule_id, f.severity, "
           f"f.message_seq, {SEV_RANK_SQL} AS sev_rank, {GROUP_SQL} AS grp "
           f"FROM findings f LEFT JOIN review_latest r USING (finding_id) WHERE " + " AND ".join(where))
    if status:
        sql = f"SELECT * FROM ({sql}) WHERE grp = ?"
        params.append(flt.status)
    return sql, params


def queue(cur, user: User, flt: QueueFilter, page_size: int) -> tuple[list[dict], int]:
    """One row per flagged conversation in the filter, most severe first; and the total."""
    base, params = _base(user, flt)
    total = cur.execute(f"SELECT count(DISTINCT conversation_id) FROM ({base})", params).fetchone()[0]
    rows = cur.execute(
        f"""SELECT conversation_id, min(day), min(shop_id), string_agg(DISTINCT agent_id, '、'),
                   max(sev_rank) AS mr, count(*), count(*) FILTER (WHERE grp = 'pending'),
                   string_agg(DISTINCT rule_id, ' '), arg_min(finding_id, (-sev_rank, coalesce(message_seq, -1), finding_id))
            FROM ({base}) GROUP BY conversation_id
            ORDER BY mr DESC, min(day), conversation_id LIMIT ? OFFSET ?""",
        params + [page_size, (flt.page - 1) * page_size]).fetchall()
    keys = ("conversation_id", "day", "shop_id", "agents", "sev_rank", "findings", "pending", "rules", "first_finding")
    sev = {v: k for k, v in SEVERITY_ORDER.items()}
    out = []
    for r in rows:
        d = dict(zip(keys, r))
        d["severity"] = sev.get(d["sev_rank"], "low")
        d["rules"] = d["rules"].split() if d["rules"] else []
        out.append(d)
    return out, total


def facet_counts(cur, user: User, flt: QueueFilter) -> dict[str, dict[str, int]]:
    """Findings per value of each filter, under the other filters (the counts beside each choice)."""
    out = {}
    for facet, col in (("status", "grp"), ("severity", "severity"), ("rule", "rule_id"), ("shop", "shop_id")):
        base, params = _base(user, flt, skip=facet)
        out[facet] = dict(cur.execute(f"SELECT {col}, count(*) FROM ({base}) GROUP BY 1", params).fetchall())
    return out


def ordered_findings(user: User, flt: QueueFilter) -> tuple[str, list]:
    """One row per finding in queue order (severity of its conversation, day, conversation,
    message), with rn = its position. The status filter is not applied here: the caller
    picks, so the current item keeps its place after it is decided."""
    base, params = _base(user, flt, with_status=False)
    sql = f"""SELECT *, row_number() OVER (ORDER BY conv_rank DESC, day, conversation_id, coalesce(message_seq, -1), finding_id) AS rn
              FROM (SELECT *, max(sev_rank) OVER (PARTITION BY conversation_id) AS conv_rank FROM ({base}))"""
    return sql, params


def neighbours(cur, user: User, flt: QueueFilter, finding_id: str | None, conversation_id: str) -> dict:
    """The previous and next items of the queue around a finding (j/k), and the next
    pending one after it (where a decision moves on to)."""
    sql, params = ordered_findings(user, flt)
    status_ok = "grp = ?" if flt.status else "true"
    sp = [flt.status] if flt.status else []
    if finding_id:
        cur_rn = cur.execute(f"SELECT rn FROM ({sql}) WHERE finding_id = ?", params + [finding_id]).fetchone()
    else:
        cur_rn = cur.execute(f"SELECT min(rn) - 0.5 FROM ({sql}) WHERE conversation_id = ?", params + [conversation_id]).fetchone()
    rn = cur_rn[0] if cur_rn and cur_rn[0] is not None else 0

    def pick(cond, order, extra):
        r = cur.execute(f"SELECT finding_id, conversation_id FROM ({sql}) WHERE {cond} ORDER BY rn {order} LIMIT 1",
                        params + extra).fetchone()
        return {"finding_id": r[0], "conversation_id": r[1]} if r else None

    nxt = pick(f"rn > ? AND {status_ok}", "ASC", [rn] + sp)
    prv = pick(f"rn < ? AND {status_ok}", "DESC", [rn] + sp)
    nxt_pending = pick("rn > ? AND grp = 'pending'", "ASC", [rn]) or pick("rn <> ? AND grp = 'pending'", "ASC", [rn])
    return {"next": nxt, "prev": prv, "next_pending": nxt_pending}


def can_read_conversation(cur, user: User, conversation_id: str) -> bool:
    s, p = conv_scope_sql(user)
    return cur.execute(f"SELECT count(*) FROM conversations c WHERE c.conversation_id = ? AND {s}",
                       [conversation_id] + p).fetchone()[0] > 0


def choices(cur, user: User) -> dict[str, list]:
    """Values for the filter menus, within the user's scope."""
    s, p = scope_sql(user)
    out = {}
    for key, col in (("day", "day"), ("shop", "shop_id"), ("agent", "agent_id"), ("rule", "rule_id")):
        out[key] = [r[0] for r in cur.execute(
            f"SELECT DISTINCT {col} FROM findings f WHERE {s} AND {col} IS NOT NULL ORDER BY 1 {'DESC' if key == 'day' else ''}",
            p).fetchall()]
    return out


# --------------------------------------------------------------------- spot checks (抽检)

def sample(cur, user: User, day: str, rate: float, risk_per_agent: int, near_limit_s: float, limit_s: float) -> list[dict]:
    """One row per unflagged conversation drawn for a spot check on `day`: `rate` of each
    agent's unflagged conversations at random (seeded by the day: the same draw for every
    reviewer), plus `risk_per_agent` near misses per agent, the most uncertain first: a
    classifier that scored a message at 0.5 or more but under the rule's threshold
    (model_near_misses, ranked by p / threshold), a reply that took between near_limit_s and
    limit_s, or a conversation that ends on the customer's message."""
    s, p = conv_scope_sql(user)
    rows = cur.execute(
        f"""
        WITH unflagged AS (
            SELECT c.conversation_id, c.first_agent_id AS agent_id, c.shop_id, c.day, c.n_messages
            FROM conversations c
            WHERE c.day = ?::DATE AND c.first_agent_id IS NOT NULL AND {s}
              AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.conversation_id = c.conversation_id)
        ), gaps AS (   -- one row per conversation: its slowest reply to a customer, and who spoke last
            SELECT conversation_id,
                   max(CASE WHEN role = 'agent' AND prev_role = 'customer' THEN epoch(ts) - epoch(prev_ts) END) AS max_gap,
                   arg_max(role, seq) AS last_role
            FROM (SELECT conversation_id, seq, role, ts, lag(role) OVER w AS prev_role, lag(ts) OVER w AS prev_ts
                  FROM messages WHERE day = ?::DATE AND conversation_id IN (SELECT conversation_id FROM unflagged)
                  WINDOW w AS (PARTITION BY conversation_id ORDER BY seq))
            GROUP BY conversation_id
        ), nm AS (     -- one row per conversation: its most uncertain model call
            SELECT conversation_id, arg_max(label, p / threshold) AS nm_label, arg_max(p, p / threshold) AS nm_p,
                   max(p / threshold) AS nm_ratio
            FROM model_near_misses WHERE conversation_id IN (SELECT conversation_id FROM unflagged)
            GROUP BY conversation_id
        ), ranked AS (
            SELECT u.*, g.max_gap, g.last_role, nm.nm_label, nm.nm_p, nm.nm_ratio,
                   row_number() OVER (PARTITION BY u.agent_id ORDER BY hash(u.conversation_id || ?)) AS rnd,
                   count(*) OVER (PARTITION BY u.agent_id) AS n,
                   coalesce((g.max_gap >= ? AND g.max_gap < ?) OR g.last_role = 'customer' OR nm.nm_ratio IS NOT NULL,
                            false) AS near_miss
            FROM unflagged u LEFT JOIN gaps g USING (conversation_id) LEFT JOIN nm USING (conversation_id)
        ), random_pick AS (
            SELECT *, 'random' AS why FROM ranked WHERE rnd <= ceil(n * ?)
        ), risk_pick AS (
            SELECT *, 'risk' AS why FROM (
                SELECT *, row_number() OVER (PARTITION BY agent_id ORDER BY coalesce(nm_ratio, 0) DESC,
                                                                         coalesce(max_gap, 0) DESC, conversation_id) AS rr
                FROM ranked WHERE near_miss AND conversation_id NOT IN (SELECT conversation_id FROM random_pick))
            WHERE rr <= ?
        )
        SELECT conversation_id, agent_id, shop_id, n_messages, max_gap, last_role, nm_label, nm_p, why FROM random_pick
        UNION ALL
        SELECT conversation_id, agent_id, shop_id, n_messages, max_gap, last_role, nm_label, nm_p, why FROM risk_pick
        ORDER BY agent_id, why DESC, conversation_id
        """,
        [day] + p + [day, day, near_limit_s, limit_s, rate, risk_per_agent]).fetchall()
    keys = ("conversation_id", "agent_id", "shop_id", "n_messages", "max_gap", "last_role", "nm_label", "nm_p", "why")
    return [dict(zip(keys, r)) for r in rows]


def spot_checked(cur, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return {r[0] for r in cur.execute("SELECT conversation_id FROM spot_checks WHERE conversation_id IN (SELECT unnest(?))",
                                      [ids]).fetchall()}
