"""Flow `inspect`: inspect the conversations that are new or got late messages."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from qc import store
from qc.inspect import inspect


@task(name="inspect-conversations", cache_policy=NO_CACHE)
def inspect_task(db: str, date: str | None, all_: bool) -> dict:
    # One task for the whole batch: the rule engine works set-wise inside DuckDB.
    con = store.connect(db)
    try:
        return inspect(con, day=date, all_=all_).as_dict()
    finally:
        con.close()


@flow(name="inspect")
def inspect_flow(db: str | None = None, date: str | None = None, all_: bool = False) -> dict:
    logger = get_run_logger()
    db = str(store.default_db_path(db))
    result = inspect_task(db, date, all_)
    logger.info(
        "inspected %s conversations (%s messages): %s findings %s",
        result["conversations"], result["messages"], result["findings"], result["by_rule"],
    )
    for note in result.get("notes", []):
        logger.warning(note)
    return result
