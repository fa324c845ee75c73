"""What the unattended runs do, as plain library functions (pipelines/ orchestrates them
with Prefect; tests call them without it). Nothing here imports Prefect.

* `ingest_inbox` — ingest every export file in the inbox, then move it to the archive (or,
  when it cannot be read at all, to the rejected folder with a `.reason.txt`). A run killed
  before a file is moved re-ingests it next time: ingest is idempotent, so nothing doubles.
* `record_run` / `summary_markdown` — the run summary: a `runs` row and the markdown the
  flow publishes as a Prefect artifact.
* `shift_stats` — 当班次数据: each agent's core data for today so far, the weakest flagged.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from .ingest import ingest_paths, iter_input_files
from .paths import ROOT


def folder(path: str | Path) -> Path:
    """A configured folder: relative paths are relative to the project root (QC_HOME)."""
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


def _move(src: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    k = 1
    while dest.exists():                       # never overwrite an earlier night's file
        dest = dest_dir / f"{src.stem}.{k}{src.suffix}"
        k += 1
    shutil.move(str(src), str(dest))
    return dest


def ingest_inbox(con, inbox: Path | list, archive: Path, rejected: Path, today: date | None = None) -> dict:
    inboxes = [Path(p) for p in (inbox if isinstance(inbox, (list, tuple)) else [inbox])]
    for p in inboxes:
        p.mkdir(parents=True, exist_ok=True)
    skipped: list[str] = []
    files = iter_input_files(inboxes, skipped)
    rep = ingest_paths(con, files) if files else None
    d = rep.as_dict() if rep else {"files": 0, "read": 0, "ingested": 0, "duplicate": 0, "quarantined": 0,
                                    "late_conversations": 0, "errors": [], "skipped": []}
    day_dir = archive / str(today or date.today())
    moved, bad = [], []
    for fr in (rep.files if rep else []):
        src = Path(fr.file)
        if not src.exists():
            continue
        if fr.error:
            dest = _move(src, rejected)
            dest.with_name(dest.name + ".reason.txt").write_text(fr.error + "\n", encoding="utf-8")
            bad.append({"file": src.name, "reason": fr.error})
        else:
            moved.append(str(_move(src, day_dir).relative_to(archive)))
    for s in skipped:
        dest = _move(Path(s), rejected)
        dest.with_name(dest.name + ".reason.txt").write_text(
            "不是 .jsonl/.json/.csv 导出文件 (not a chat or order export)\n", encoding="utf-8")
        bad.append({"file": Path(s).name, "reason": "not a chat or order export"})
    d.update(archived=moved, rejected=bad)
    return d


def record_run(con, flow: str, started_at: datetime, summary: dict) -> int:
    from .store import transaction

    with transaction(con):
        run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchall()[0][0]
        status = "finished_with_warnings" if summary.get("warnings") else "finished"
        con.execute("INSERT INTO runs VALUES (?, ?, ?, now(), ?, ?)",
                    [run_id, flow, started_at, status, json.dumps(summary, ensure_ascii=False, default=str)])
    return run_id


def summary_markdown(summary: dict) -> str:
    """The night in one page (a Prefect markdown artifact; Simplified Chinese)."""
    ing, ins = summary.get("ingest", {}), summary.get("inspect", {})
    lines = [f"# 质检夜间运行 {summary.get('night', '')}", "",
             f"用时 {summary.get('duration_s', 0):.1f} 秒", "",
             "| 阶段 | 数量 |", "|---|---:|",
             f"| 导入文件 | {ing.get('files', 0)} |", f"| 读取行 | {ing.get('read', 0)} |",
             f"| 新增 | {ing.get('ingested', 0)} |", f"| 重复 | {ing.get('duplicate', 0)} |",
             f"| 隔离 | {ing.get('quarantined', 0)} |", f"| 迟到消息会话 | {ing.get('late_conversations', 0)} |",
             f"| 质检会话 | {ins.get('conversations', 0)} |", f"| 质检消息 | {ins.get('messages', 0)} |",
             f"| 问题 | {ins.get('findings', 0)} |", "", "| 规则 | 问题数 |", "|---|---:|"]
    lines += [f"| {r} | {n} |" for r, n in (ins.get("by_rule") or {}).items()]
    if summary.get("scorecard"):
        lines += ["", f"考核表：{summary['scorecard'].get('out')}（{summary['scorecard'].get('agents')} 名客服）"]
    if summary.get("reports"):
        rep = summary["reports"]
        lines += [f"组长报告：{rep.get('folder')}（{rep.get('files')} 个文件，{rep.get('agents')} 名客服）"]
    if summary.get("warnings"):
        lines += ["", "## 注意", ""] + [f"* {w}" for w in summary["warnings"]]
    return "\n".join(lines) + "\n"


def night_of(tz: str, now: datetime | None = None) -> date:
    """The day a night run is about: yesterday in the shop's timezone."""
    now = now or datetime.now(ZoneInfo(tz))
    return (now.astimezone(ZoneInfo(tz)) - timedelta(days=1)).date()


def shift_stats(con, day: date, now_hour: int | None = None) -> list[dict]:
    """当班次数据 for `day` so far: per agent — conversations, median first response, slow
    rounds, pre-sales conversations without an order yet (open inquiries) — and `follow_up`
    for the weakest third by first response (the practice: follow up the weakest)."""
    rows = con.execute(
        """
        WITH conv AS (
            SELECT c.* FROM conversations c WHERE c.day = ?::DATE
        ), first_reply AS (
            SELECT m.conversation_id, min(m.epoch_ts) FILTER (WHERE m.role = 'agent')
                   - min(m.epoch_ts) FILTER (WHERE m.role = 'customer') AS frs
            FROM (SELECT conversation_id, role, epoch(ts) AS epoch_ts FROM messages
                  WHERE conversation_id IN (SELECT conversation_id FROM conv)) m
            GROUP BY m.conversation_id
        ), per_agent AS (
            SELECT c.first_agent_id AS agent_id, any_value(c.shop_id) AS shop_id, count(*) AS conversations,
                   median(f.frs) FILTER (WHERE f.frs >= 0) AS median_first_response_s,
                   count(*) FILTER (WHERE c.queue = 'presales' AND NOT EXISTS (
                       SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.shop_id = c.shop_id
                         AND o.created_at >= c.started_at)) AS open_inquiries
            FROM conv c LEFT JOIN first_reply f USING (conversation_id)
            WHERE c.first_agent_id IS NOT NULL
            GROUP BY c.first_agent_id
        ), slow AS (
            SELECT agent_id, count(*) AS slow_responses FROM findings
            WHERE rule_id = 'slow_response' AND day = ?::DATE GROUP BY agent_id
        )
        SELECT p.agent_id, p.shop_id, p.conversations, round(p.median_first_response_s, 1), p.open_inquiries,
               coalesce(s.slow_responses, 0)
        FROM per_agent p LEFT JOIN slow s USING (agent_id) ORDER BY p.agent_id
        """, [str(day), str(day)]).fetchall()
    out = [dict(zip(("agent_id", "shop_id", "conversations", "median_first_response_s", "open_inquiries",
                     "slow_responses"), r)) for r in rows]
    ranked = sorted((r for r in out if r["median_first_response_s"] is not None),
                    key=lambda r: -r["median_first_response_s"])
    weakest = {r["agent_id"] for r in ranked[: max(1, len(ranked) // 3)]} if ranked else set()
    for r in out:
        r["follow_up"] = r["agent_id"] in weakest
    return out


def watermarks(con) -> dict[str, str]:
    """Per shop, the latest message instant stored (ISO, UTC): the night's progress mark."""
    return {shop: ts.isoformat() for shop, ts in con.execute(
        "SELECT shop_id, max(ended_at) FROM conversations GROUP BY shop_id ORDER BY shop_id").fetchall()}


def stalled_shops(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """Shops whose watermark did not move since the last night: their export is probably
    missing (a shop with no chats at all for a day is rare) — a warning, not an error."""
    return sorted(s for s, ts in previous.items() if current.get(s) == ts)


def last_watermarks(con, flow: str = "qc-nightly") -> dict[str, str]:
    row = con.execute("SELECT summary FROM runs WHERE flow = ? ORDER BY run_id DESC LIMIT 1", [flow]).fetchall()
    return (json.loads(row[0][0]).get("watermarks") or {}) if row else {}
