"""The unattended runs, as Prefect flows — the story of the night:

    qc-nightly   ingest the inbox → inspect what is new or changed → refresh the month's
                 scorecard and the leads' reports (outbox) → record the run (runs table + a markdown artifact)
                 → archive the processed files (bad ones to rejected/, with the reason)
    qc-shift     当班次数据: each agent's core data for today so far, the weakest flagged
    qc-monthly   last month's scorecard workbook and reports on the 1st

Schedules and folders come from config/qc.yaml (`nightly`, `shift`, `monthly`), in the shop
timezone. `qc serve` (pipelines/cli.py) runs them on schedule; `prefect.yaml` is the
production variant (a work pool and a worker). Tasks get paths and dates, never chat text.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from qc import store
from qc.config import load_config
from qc.nightly import (folder, ingest_inbox, last_watermarks, record_run, shift_stats, stalled_shops, summary_markdown,
                        watermarks)


# Transient trouble (another qc holding the database, a full disk freed by logrotate) gets two
# more tries; every task is idempotent, so a retry never doubles anything.
RETRY = {"retries": 2, "retry_delay_seconds": 30}


def _on_db(db: str, fn, *args):
    """Run one library step on the database and close it: tasks stay one line each."""
    con = store.connect(db)
    try:
        return fn(con, *args)
    finally:
        con.close()


@task(name="watermarks", cache_policy=NO_CACHE, **RETRY)
def watermark_task(db: str) -> dict:
    return _on_db(db, lambda con: {"previous": last_watermarks(con), "current": watermarks(con)})


@task(name="ingest-inbox", cache_policy=NO_CACHE, **RETRY)
def ingest_task(db: str, inbox: list[str], archive: str, rejected: str) -> dict:
    return _on_db(db, ingest_inbox, [Path(p) for p in inbox], Path(archive), Path(rejected))


@task(name="inspect-new", cache_policy=NO_CACHE, **RETRY)
def inspect_task(db: str) -> dict:
    from qc.inspect import inspect

    return _on_db(db, lambda con: inspect(con).as_dict())     # what is new or got late messages


@task(name="month-scorecard", cache_policy=NO_CACHE, **RETRY)
def scorecard_task(db: str, period: str, outbox: str) -> dict:
    from qc.scorecard import scorecard, write_xlsx

    def write(con):
        rows = scorecard(con, period)
        out = Path(outbox)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"scorecard-{period}.xlsx"
        tmp = path.with_suffix(".tmp.xlsx")
        write_xlsx(rows, tmp, period, con=con)
        tmp.replace(path)                  # a reader never sees half a workbook
        return {"period": period, "agents": len(rows), "out": str(path)}

    return _on_db(db, write)


@task(name="lead-reports", cache_policy=NO_CACHE, **RETRY)
def reports_task(db: str, period: str, outbox: str) -> dict:
    """The leads' reports for the period so far: team (per shop and all) and per agent."""
    from qc.reports import write_outbox

    return _on_db(db, write_outbox, period, outbox)


@task(name="record-run", cache_policy=NO_CACHE)
def record_task(db: str, flow_name: str, started_at: str, summary: dict) -> int:
    return _on_db(db, record_run, flow_name, datetime.fromisoformat(started_at), summary)


@flow(name="qc-nightly")
def nightly_flow(inbox: list[str] | str | None = None, db: str | None = None, archive: str | None = None,
                 rejected: str | None = None, outbox: str | None = None) -> dict:
    """One night: ingest → inspect → scorecard → summary. Re-running a night on the same inputs
    changes nothing (ingest is idempotent, inspect only takes what is new)."""
    cfg = load_config()
    n = cfg.schedules["nightly"]
    t0, started = time.perf_counter(), datetime.now(timezone.utc).isoformat()
    db = str(store.default_db_path(db))
    inbox = [inbox] if isinstance(inbox, str) else (inbox or [str(folder(n["inbox"]))])
    ing = ingest_task(db, [str(p) for p in inbox], str(archive or folder(n["archive"])), str(rejected or folder(n["rejected"])))
    ins = inspect_task(db)
    marks = watermark_task(db)
    # the night's chats are yesterday's: on the 1st the reports finish last month
    period = (date.today() - timedelta(days=1)).strftime("%Y-%m")
    card = None
    warnings = list(ins.get("notes") or []) + [f"{r['file']}: {r['reason']}" for r in ing.get("rejected", [])]
    warnings += [f"店铺 {s} 今晚没有新消息，导出文件可能缺失 (no new messages for this shop since the last night)"
                 for s in stalled_shops(marks["previous"], marks["current"])]
    reports = None
    if ins["conversations"] or ing["ingested"]:
        try:
            card = scorecard_task(db, period, str(outbox or folder(n["outbox"])))
        except Exception as exc:  # a scorecard problem must not lose the night's findings
            warnings.append(f"考核表未更新 (scorecard not refreshed): {exc}")
        try:
            reports = reports_task(db, period, str(outbox or folder(n["outbox"])))
        except Exception as exc:  # nor a report problem
            warnings.append(f"组长报告未更新 (lead reports not refreshed): {exc}")
    summary = {"night": str(date.today()), "ingest": {k: ing.get(k) for k in
               ("files", "read", "ingested", "duplicate", "quarantined", "late_conversations", "archived", "rejected")},
               "inspect": {k: ins.get(k) for k in ("run_id", "conversations", "messages", "findings", "by_rule", "models")},
               "scorecard": card, "reports": reports, "warnings": warnings, "watermarks": marks["current"],
               "duration_s": round(time.perf_counter() - t0, 2)}
    run_id = record_task(db, "qc-nightly", started, summary)
    create_markdown_artifact(key="qc-nightly-summary", markdown=summary_markdown(summary),
                             description=f"qc-nightly run {run_id}")
    get_run_logger().info("night recorded as run %s: %s findings", run_id, ins["findings"])
    return {"run_id": run_id, "ingest": ing, "inspect": ins, "scorecard": card, "reports": reports, "warnings": warnings}


@flow(name="qc-shift")
def shift_flow(db: str | None = None, day: str | None = None) -> list[dict]:
    """当班次数据: today's core data per agent so far; the weakest are flagged for follow-up."""
    from zoneinfo import ZoneInfo

    cfg = load_config()
    db = str(store.default_db_path(db))
    d = date.fromisoformat(day) if day else datetime.now(ZoneInfo(cfg.timezone)).date()
    con = store.open_reader(db)
    try:
        rows = shift_stats(con, d)
    finally:
        con.close()
    create_table_artifact(key="qc-shift", table=rows, description=f"当班次数据 {d}")
    return rows


@flow(name="qc-monthly")
def monthly_flow(db: str | None = None, period: str | None = None, outbox: str | None = None) -> dict:
    """Last month's scorecard workbook and the leads' reports for the whole month (run on the 1st)."""
    cfg = load_config()
    db = str(store.default_db_path(db))
    if period is None:
        first = date.today().replace(day=1)
        last = date.fromordinal(first.toordinal() - 1)
        period = last.strftime("%Y-%m")
    out = str(outbox or folder(cfg.schedules["nightly"]["outbox"]))
    card = scorecard_task(db, period, out)
    return {**card, "reports": reports_task(db, period, out)}


def deployments(db: str | None = None):
    """The three deployments with their schedules from config/qc.yaml (shop timezone)."""
    from prefect.schedules import Cron

    cfg = load_config()
    tz = cfg.timezone
    params = {"db": db} if db else {}
    return [
        nightly_flow.to_deployment(name="nightly", schedules=[Cron(cfg.schedules["nightly"]["cron"], timezone=tz)], parameters=params),
        shift_flow.to_deployment(name="shift", schedules=[Cron(cfg.schedules["shift"]["cron"], timezone=tz)], parameters=params),
        monthly_flow.to_deployment(name="monthly", schedules=[Cron(cfg.schedules["monthly"]["cron"], timezone=tz)], parameters=params),
    ]


def main(argv=None):  # pragma: no cover - kept for `python -m pipelines.nightly`
    import argparse

    ap = argparse.ArgumentParser(description="每晚质检 the nightly run once (or `qc serve` for the schedules)")
    ap.add_argument("--inbox", nargs="*", default=None)
    ap.add_argument("--db", default=None)
    args = ap.parse_args(argv)
    print(nightly_flow(args.inbox, db=args.db))


if __name__ == "__main__":  # pragma: no cover
    main()
