"""Flow `ingest`: read chat and order exports into the DuckDB store."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from qc import store
from qc.ingest import ingest_paths, iter_input_files


@task(name="ingest-files", cache_policy=NO_CACHE, retries=0)
def ingest_files(db: str, paths: list[str]) -> dict:
    con = store.connect(db)
    try:
        return ingest_paths(con, paths).as_dict()
    finally:
        con.close()


@flow(name="ingest", log_prints=False)
def ingest_flow(paths: list[str], db: str | None = None) -> dict:
    """Ingest every file under `paths`; bad rows are quarantined, never dropped."""
    logger = get_run_logger()
    db = str(store.default_db_path(db))
    files = [str(p) for p in iter_input_files(paths)]
    logger.info("ingesting %d files into %s", len(files), db)
    result = ingest_files(db, files)
    logger.info(
        "read=%s ingested=%s duplicate=%s quarantined=%s",
        result["read"], result["ingested"], result["duplicate"], result["quarantined"],
    )
    for e in result["errors"]:
        logger.error(e)
    return result
