"""Inspection in partitions, for a Dask cluster (pipelines/inspect_flow.py, `--task-runner dask`).

The story: one writer exports the scope to partitioned Parquet (one partition per shop and
conversation day), releases the database, workers inspect groups of partitions each in its
own in-memory qc database with the very same `inspect()` code, and the writer merges their
findings back in one transaction. Findings are identical to a single-process run: a finding's
id is deterministic, each partition carries everything its rules read (the conversations of
that shop and day, their messages, the shop's orders), and no rule looks across
conversations. This module never imports Prefect or Dask: the flow submits these functions.

Layout of a stage folder (shared storage for a remote cluster):
    messages/shop_id=…/day=…/*.parquet       one row per message in scope (day = conversation day)
    conversations/shop_id=…/day=…/*.parquet  one row per conversation in scope (with updated_run)
    orders/shop_id=…/*.parquet               one row per order of a shop in scope
    results/part-<n>.parquet                 one row per finding, written by worker task n
    results/part-<n>.near.parquet            one row per model near miss (qc/inspect.py), task n
"""

from __future__ import annotations

import json
import os
import shutil
import time
from functools import lru_cache
from pathlib import Path

from . import store
from .inspect import InspectReport, Models, TEMP_TABLES, load_models, select_scope


def stage_partitions(con, stage_dir, day=None, all_: bool = False) -> list[dict]:
    """Export the scope (as `qc inspect` would choose it) to Parquet; returns the partitions,
    one dict per (shop, day) with its message count, largest first."""
    stage = Path(stage_dir)
    if stage.exists():
        shutil.rmtree(stage)            # a killed run's leftovers: staging is always whole
    stage.mkdir(parents=True)
    scope = select_scope(con, day, all_)
    con.execute("""CREATE OR REPLACE TEMP TABLE stage_conv AS
                   SELECT c.* FROM conversations c JOIN scope_conv USING (conversation_id)""")
    con.execute(f"COPY stage_conv TO '{_q(stage / 'conversations')}' (FORMAT parquet, PARTITION_BY (shop_id, day))")
    con.execute(f"""COPY (SELECT m.* EXCLUDE (day), c.day AS day FROM messages m JOIN stage_conv c USING (conversation_id))
                    TO '{_q(stage / 'messages')}' (FORMAT parquet, PARTITION_BY (shop_id, day))""")
    con.execute(f"""COPY (SELECT o.* FROM orders o WHERE o.shop_id IN (SELECT DISTINCT shop_id FROM stage_conv))
                    TO '{_q(stage / 'orders')}' (FORMAT parquet, PARTITION_BY (shop_id))""")
    parts = con.execute("""SELECT shop_id, day::VARCHAR, sum(n_messages)::BIGINT FROM stage_conv
                           GROUP BY ALL ORDER BY 3 DESC, 1, 2""").fetchall()
    (stage / "scope.json").write_text(json.dumps({"scope": scope}), encoding="utf-8")
    con.execute("DROP TABLE IF EXISTS stage_conv")
    return [{"shop_id": s, "day": d, "messages": n} for s, d, n in parts]


def plan(parts: list[dict], tasks: int) -> list[list[list[str]]]:
    """Group partitions into at most `tasks` groups of about equal messages (largest first
    into the lightest group): each group is one worker task, which loads the models once."""
    groups: list[tuple[int, list]] = [(0, []) for _ in range(max(1, min(tasks, len(parts))))]
    for p in sorted(parts, key=lambda p: -p["messages"]):
        i = min(range(len(groups)), key=lambda k: groups[k][0])
        n, members = groups[i]
        groups[i] = (n + p["messages"], members + [[p["shop_id"], p["day"]]])
    return [g for _, g in groups if g]


@lru_cache(maxsize=2)
def _models(use_models: bool) -> Models:
    return load_models(use_models)      # once per worker process


def inspect_partitions(stage_dir, parts: list[list[str]], out, use_models: bool = True) -> dict:
    """Worker: inspect the given (shop, day) partitions in a fresh in-memory qc database and
    write their findings to `out` (Parquet). Reads only files; never touches the database."""
    stage = Path(stage_dir)
    t0 = time.perf_counter()
    con = store.connect(":memory:")
    try:
        # workers sharing a machine share its cores: QC_WORKER_THREADS caps DuckDB's threads
        threads = int(os.environ.get("QC_WORKER_THREADS", "0") or 0)
        if threads > 0:
            con.execute(f"SET threads = {threads}")
        shops = sorted({s for s, _ in parts})
        con.execute("CREATE TEMP TABLE want (shop_id VARCHAR, day DATE)")
        con.executemany("INSERT INTO want VALUES (?, ?::DATE)", parts)
        for table in ("conversations", "messages"):
            con.execute(f"""INSERT INTO {table} BY NAME
                            SELECT t.* FROM read_parquet('{_q(stage / table)}/**/*.parquet', hive_partitioning = true,
                                                         hive_types = {{'shop_id': VARCHAR, 'day': DATE}}) t
                            SEMI JOIN want w ON t.shop_id = w.shop_id AND t.day = w.day""")
        con.execute(f"""INSERT INTO orders BY NAME
                        SELECT * FROM read_parquet('{_q(stage / 'orders')}/**/*.parquet', hive_partitioning = true,
                                                   hive_types = {{'shop_id': VARCHAR}})
                        WHERE shop_id IN (SELECT unnest(?))""", [shops])
        from .inspect import inspect

        rep = inspect(con, all_=True, use_models=use_models, models=_models(use_models))
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        near = Path(str(out).removesuffix(".parquet") + ".near.parquet")
        for sql, path in (("SELECT * FROM model_near_misses", near), ("SELECT * FROM findings", Path(out))):
            tmp = Path(str(path) + ".tmp")
            con.execute(f"COPY ({sql}) TO '{_q(tmp)}' (FORMAT parquet)")
            tmp.replace(path)               # a result file is whole or absent; findings last
        return {"out": str(out), "near_misses": str(near), "partitions": len(parts), "conversations": rep.conversations,
                "messages": rep.messages, "findings": rep.findings, "models": rep.models, "notes": rep.notes,
                "seconds": round(time.perf_counter() - t0, 3)}
    finally:
        con.close()


def merge_results(con, stage_dir, results: list[dict]) -> InspectReport:
    """The one writer: replace the scope's rule findings with the workers' results, clear
    needs_inspection for the conversations that did not change since staging, and record the
    run — in one transaction."""
    stage = Path(stage_dir)
    scope = json.loads((stage / "scope.json").read_text(encoding="utf-8"))["scope"]
    files = [r["out"] for r in results]
    con.execute("UPDATE inspect_runs SET status = 'interrupted' WHERE status = 'running' OR (status IS NULL AND finished_at IS NULL)")
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM inspect_runs").fetchall()[0][0]
    rep = InspectReport(run_id, f"{scope} (partitioned: {len(files)} tasks)")
    rep.conversations = sum(r["conversations"] for r in results)
    rep.messages = sum(r["messages"] for r in results)
    for r in results:
        rep.models.update(r.get("models") or {})
        rep.notes.extend(n for n in (r.get("notes") or []) if n not in rep.notes)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE stage_conv AS
                    SELECT conversation_id, updated_run FROM read_parquet('{_q(stage / 'conversations')}/**/*.parquet',
                                                                           hive_partitioning = true)""")
    with store.transaction(con):
        con.execute("INSERT INTO inspect_runs (run_id, started_at, scope, status) VALUES (?, now(), ?, 'running')",
                    [run_id, rep.scope])
        con.execute("DELETE FROM findings WHERE source = 'rule' AND conversation_id IN (SELECT conversation_id FROM stage_conv)")
        if files:
            con.execute("INSERT INTO findings SELECT * REPLACE (?::BIGINT AS run_id, now() AS created_at) "
                        "FROM read_parquet(?) WHERE source = 'rule'", [run_id, files])
        con.execute("DELETE FROM model_near_misses WHERE conversation_id IN (SELECT conversation_id FROM stage_conv)")
        near = [r["near_misses"] for r in results if r.get("near_misses")]
        if near:
            con.execute("INSERT INTO model_near_misses SELECT * REPLACE (?::BIGINT AS run_id) FROM read_parquet(?)",
                        [run_id, near])
        rep.findings = con.execute("SELECT count(*) FROM findings WHERE run_id = ?", [run_id]).fetchone()[0]
        rep.by_rule = dict(con.execute("SELECT rule_id, count(*) FROM findings WHERE run_id = ? GROUP BY 1 ORDER BY 1",
                                       [run_id]).fetchall())
        # a conversation that got messages while the workers ran stays marked for the next run
        con.execute("""UPDATE conversations c SET needs_inspection = false FROM stage_conv s
                       WHERE c.conversation_id = s.conversation_id AND c.updated_run = s.updated_run""")
        con.execute("UPDATE inspect_runs SET finished_at = now(), status = 'finished', conversations = ?, messages = ?, "
                    "findings = ?, stages = ?, notes = ? WHERE run_id = ?",
                    [rep.conversations, rep.messages, rep.findings,
                     json.dumps({"tasks": {Path(r["out"]).stem: r["seconds"] for r in results}}),
                     json.dumps(rep.notes, ensure_ascii=False), run_id])
    con.execute("CHECKPOINT")
    for tmp in TEMP_TABLES + ("stage_conv",):
        con.execute(f"DROP TABLE IF EXISTS {tmp}")
    return rep


def _q(p) -> str:
    """A path inside a SQL string literal (COPY and read_parquet take no bound parameters)."""
    return str(p).replace("'", "''")
