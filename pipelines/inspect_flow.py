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


# ---------------------------------------------------------------------------- on a Dask cluster

@task(name="inspect-partitions", cache_policy=NO_CACHE, retries=1)
def partition_task(stage_dir: str, parts: list[list[str]], out: str, use_models: bool = True) -> dict:
    # paths and (shop, day) keys in, a result file out: no chat text crosses the wire
    from qc.partitioned import inspect_partitions

    return inspect_partitions(stage_dir, parts, out, use_models)


@flow(name="inspect-partitioned")
def inspect_partitioned_flow(db: str | None = None, date: str | None = None, all_: bool = False,
                             stage_dir: str | None = None, tasks: int = 4, use_models: bool = True) -> dict:
    """The inspection as partitions on the flow's task runner (a Dask cluster through
    prefect-dask): stage → inspect the partitions in parallel → merge by one writer. The
    database is closed while the workers run, so other readers (the console's sync) get in."""
    from pathlib import Path

    from qc.partitioned import merge_results, plan, stage_partitions

    logger = get_run_logger()
    db = str(store.default_db_path(db))
    stage = Path(stage_dir) if stage_dir else Path(db).with_name(Path(db).stem + ".stage")
    con = store.connect(db)
    try:
        parts = stage_partitions(con, stage, date, all_)
    finally:
        con.close()
    groups = plan(parts, tasks)
    futures = [partition_task.submit(str(stage), g, str(stage / "results" / f"part-{i:04d}.parquet"), use_models)
               for i, g in enumerate(groups)]
    results = [f.result() for f in futures]
    con = store.connect(db)
    try:
        rep = merge_results(con, stage, results)
    finally:
        con.close()
    logger.info("inspected %s partitions in %s tasks: %s conversations, %s findings",
                len(parts), len(groups), rep.conversations, rep.findings)
    out = rep.as_dict()
    out["tasks"] = [{k: r[k] for k in ("partitions", "messages", "findings", "seconds")} for r in results]
    return out


def dask_runner(address: str | None = None, workers: int | None = None):
    """prefect-dask's runner: an existing scheduler (`tcp://host:8786`), or a LocalCluster of
    `workers` single-threaded processes (the text work holds the GIL; processes scale)."""
    import os

    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    n = workers or 2
    # the worker processes inherit this: each DuckDB takes its share of the cores, not all of them
    os.environ["QC_WORKER_THREADS"] = str(max(1, (os.cpu_count() or 1) // n))
    return DaskTaskRunner(cluster_kwargs={"n_workers": n, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})
