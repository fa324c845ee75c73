"""Dask scale-out: the inspection single-process vs in partitions on a LocalCluster of 1, 2, 4 …
worker processes (prefect-dask), on the same database, findings compared.

    python bench/dask_bench.py --conversations 100000 --workers 1,2,4

Each run starts from the same ingested database (copied), so every run inspects everything.
The partitioned time includes starting the cluster (each worker imports qc and loads the
models once), staging to Parquet and the merge: the whole flow as users run it. Writes
bench/results/dask.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QC = [sys.executable, "-c", "from qc.cli import main; main()"]
FINDINGS = "SELECT * EXCLUDE (run_id, created_at) FROM findings ORDER BY finding_id"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=100000)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--data", type=Path, help="an existing sample folder (chats.jsonl, orders.jsonl)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qc-dask-"))
    data = a.data or work / "gen"
    if not a.data:
        subprocess.run(QC + ["sample", "-n", str(a.conversations), "--days", "30", "--out", str(data)], check=True,
                       stdout=subprocess.DEVNULL)
    base = work / "base.duckdb"
    subprocess.run(QC + ["ingest", str(data / "chats.jsonl"), str(data / "orders.jsonl"), "--db", str(base)], check=True,
                   stdout=subprocess.DEVNULL)
    import duckdb
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.inspect_flow import dask_runner, inspect_partitioned_flow
    from qc import store
    from qc.inspect import inspect

    def fresh(name):
        db = work / f"{name}.duckdb"
        shutil.copyfile(base, db)
        return db

    out = {"machine_cores": os.cpu_count(), "runs": []}
    ts = []
    for i in range(a.repeat):
        db = fresh(f"single-{i}")
        t = time.perf_counter()
        con = store.connect(db)
        inspect(con, all_=True)
        con.close()
        ts.append(time.perf_counter() - t)
    con = duckdb.connect(str(db), read_only=True)
    reference = con.execute(FINDINGS).fetchall()
    out["messages"] = con.execute("SELECT count(*) FROM messages").fetchone()[0]
    con.close()
    out["single_process_s"] = round(statistics.median(ts), 2)
    out["findings"] = len(reference)
    with prefect_test_harness(server_startup_timeout=180):
        for w in [int(x) for x in a.workers.split(",")]:
            ts, tasks = [], None
            for i in range(a.repeat):
                db = fresh(f"dask-{w}-{i}")
                t = time.perf_counter()
                r = inspect_partitioned_flow.with_options(task_runner=dask_runner(workers=w))(db=str(db), all_=True,
                                                                                            tasks=2 * w)
                ts.append(time.perf_counter() - t)
                tasks = r["tasks"]
            con = duckdb.connect(str(db), read_only=True)
            same = con.execute(FINDINGS).fetchall() == reference
            con.close()
            run = {"workers": w, "seconds": round(statistics.median(ts), 2), "identical_findings": same,
                   "task_seconds": [t["seconds"] for t in tasks]}
            run["speedup_vs_single"] = round(out["single_process_s"] / run["seconds"], 2)
            out["runs"].append(run)
            print(json.dumps(run), flush=True)
    one = next((r for r in out["runs"] if r["workers"] == 1), None)
    for r in out["runs"]:
        r["speedup_vs_1_worker"] = round(one["seconds"] / r["seconds"], 2) if one else None
    print(json.dumps(out, indent=1))
    from results_io import save

    save("dask", out)


if __name__ == "__main__":
    main()
