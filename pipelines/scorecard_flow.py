"""Flow `scorecard`: the monthly per-agent scorecard, written as an Excel file."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from qc import store
from qc.scorecard import scorecard, write_xlsx


@task(name="compute-scorecard", cache_policy=NO_CACHE)
def compute(db: str, period: str, team: str | None, out: str) -> int:
    con = store.connect(db)
    try:
        rows = scorecard(con, period, team=team)
    finally:
        con.close()
    write_xlsx(rows, out, period)
    return len(rows)


@flow(name="scorecard")
def scorecard_flow(period: str, db: str | None = None, team: str | None = None, out: str | None = None) -> dict:
    db = str(store.default_db_path(db))
    out = out or f"scorecard-{period}.xlsx"
    n = compute(db, period, team, out)
    get_run_logger().info("scorecard %s: %d agents -> %s", period, n, out)
    return {"period": period, "agents": n, "out": out}
