"""`qc doctor`: check a database file and repair what can be repaired.

Each check counts problems with one query; a repair (with --repair) fixes them in one
transaction and the check runs again. What a repair cannot fix (a review whose finding is
gone) is reported and left alone: deleting a QC specialist's decision is never automatic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import store


@dataclass(frozen=True)
class Check:
    id: str
    name: str                 # 中文, shown to the user
    count_sql: str
    repair: Callable | None   # (con, run_id) -> None


_DERIVED_MISMATCH = """
    WITH m AS (
        SELECT conversation_id, count(*) AS n, count(*) FILTER (WHERE role = 'customer') AS nc,
               count(*) FILTER (WHERE role = 'agent') AS na, count(*) FILTER (WHERE role = 'bot') AS nb,
               min(ts) AS s, max(ts) AS e
        FROM messages GROUP BY conversation_id
    )
    SELECT m.conversation_id FROM m JOIN conversations c USING (conversation_id)
    WHERE (c.n_messages, c.n_customer, c.n_agent, c.n_bot, c.started_at, c.ended_at) <> (m.n, m.nc, m.na, m.nb, m.s, m.e)
"""
_BAD_NUMBERING = """
    SELECT DISTINCT conversation_id FROM (
        SELECT conversation_id, seq, count(*) OVER (PARTITION BY conversation_id, seq) AS k,
               bool_and(source_seq IS NOT NULL) OVER (PARTITION BY conversation_id) AS all_src,
               lag(ts) OVER (PARTITION BY conversation_id ORDER BY seq) AS prev_ts, ts
        FROM messages)
    WHERE k > 1 OR (NOT all_src AND prev_ts > ts)
"""


def _refresh(ids_sql: str):
    def repair(con, run_id):
        from .ingest import refresh_pending

        con.execute(f"INSERT OR REPLACE INTO pending_refresh (conversation_id, ingest_run, late, renumber) SELECT conversation_id, ?, false, true FROM ({ids_sql})", [run_id])
        con.execute("CHECKPOINT")
        refresh_pending(con, run_id)
    return repair


def _exec(*sqls):
    def repair(con, run_id):
        with store.transaction(con):
            for s in sqls:
                con.execute(s)
    return repair


CHECKS: tuple[Check, ...] = (
    Check("unfinished_runs", "未正常结束的运行 (runs killed while running)",
          "SELECT (SELECT count(*) FROM ingest_runs WHERE status = 'running' OR (status IS NULL AND finished_at IS NULL))"
          " + (SELECT count(*) FROM inspect_runs WHERE status = 'running' OR (status IS NULL AND finished_at IS NULL))",
          _exec("UPDATE ingest_runs SET status = 'interrupted' WHERE status = 'running' OR (status IS NULL AND finished_at IS NULL)",
                "UPDATE inspect_runs SET status = 'interrupted' WHERE status = 'running' OR (status IS NULL AND finished_at IS NULL)")),
    Check("pending_refresh", "导入中断后待重建的会话 (conversations left to rebuild by an interrupted ingest)",
          "SELECT count(*) FROM pending_refresh", lambda con, run: __import__("qc.ingest", fromlist=["x"]).refresh_pending(con, run)),
    Check("missing_conversation", "有消息但没有会话记录 (messages without a conversation row)",
          "SELECT count(DISTINCT conversation_id) FROM messages WHERE conversation_id NOT IN (SELECT conversation_id FROM conversations)",
          _refresh("SELECT DISTINCT conversation_id FROM messages WHERE conversation_id NOT IN (SELECT conversation_id FROM conversations)")),
    Check("derived_mismatch", "会话记录与其消息不一致 (conversation rows that disagree with their messages)",
          f"SELECT count(*) FROM ({_DERIVED_MISMATCH})", _refresh(_DERIVED_MISMATCH)),
    Check("bad_numbering", "消息序号重复或与时间顺序不符 (duplicate seq, or seq out of time order)",
          f"SELECT count(*) FROM ({_BAD_NUMBERING})", _refresh(_BAD_NUMBERING)),
    Check("orphan_conversations", "没有消息的会话记录 (conversation rows without messages)",
          "SELECT count(*) FROM conversations WHERE conversation_id NOT IN (SELECT conversation_id FROM messages)",
          _exec("DELETE FROM conversations WHERE conversation_id NOT IN (SELECT conversation_id FROM messages)")),
    Check("orphan_findings", "指向不存在的会话或消息的问题 (findings on a missing conversation or message)",
          "SELECT count(*) FROM findings f WHERE f.source = 'rule' AND (f.conversation_id NOT IN (SELECT conversation_id FROM conversations)"
          " OR (f.message_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = f.conversation_id AND m.seq = f.message_seq)))",
          # the next inspection recomputes them: mark their conversations and drop the strays
          _exec("UPDATE conversations SET needs_inspection = true WHERE conversation_id IN (SELECT f.conversation_id FROM findings f"
                " WHERE f.message_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = f.conversation_id AND m.seq = f.message_seq))",
                "DELETE FROM findings WHERE source = 'rule' AND conversation_id NOT IN (SELECT conversation_id FROM conversations)")),
    Check("orphan_reviews", "复核记录对应的问题已不存在（不会自动删除） (reviews whose finding is gone; never deleted automatically)",
          "SELECT count(DISTINCT finding_id) FROM reviews WHERE finding_id NOT IN (SELECT finding_id FROM findings)", None),
)


def run(con, repair: bool = False) -> list[dict]:
    """One row per check: id, name, problems (before), remaining (after a repair)."""
    out = []
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM ingest_runs").fetchall()[0][0]
    for c in CHECKS:
        n = con.execute(c.count_sql).fetchall()[0][0]
        left = n
        if n and repair and c.repair is not None:
            c.repair(con, run_id)
            left = con.execute(c.count_sql).fetchall()[0][0]
        out.append({"id": c.id, "name": c.name, "problems": n, "remaining": left, "repairable": c.repair is not None})
    return out
