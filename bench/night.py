"""The whole night through the commands users run, as processes — the benchmark of record.

    python bench/night.py --sizes 100k,300k,1m --repeat 3          # the README table
    python bench/night.py --sizes 100k --repeat 1 --no-naive       # a quick look
    python bench/night.py --sizes 10m --repeat 1 --no-naive --name night-10m   # memory at 10M

For each size: generate the sample (not timed), then run, each as its own process timed with
/usr/bin/time (wall seconds and peak RSS):

    ingest     qc ingest chats.jsonl orders.jsonl
    inspect    qc inspect --all             (lexicons, rules and the two classifiers)
    scorecard  qc scorecard --period P --format xlsx   (quality scores, KPIs, the workbook)

and reports messages/s per stage and end to end (the sum), peak RSS, database size; medians
of --repeat runs, each on a fresh database. In the same run: the raw limits (DuckDB scanning
the text column; one Aho-Corasick pass over all agent text with the forbidden lexicon) and the
naive baseline (bench/naive.py: pandas, apply per row, one re.search per phrase, Python loops
for the timing rules), on the same messages. Writes bench/results/night.json and prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QC = [sys.executable, "-c", "from qc.cli import main; main()"]
SIZES = {"100k": 10000, "300k": 30000, "1m": 100000, "3m": 300000, "10m": 1000000}   # conversations (~10.6 messages each)


def timed(cmd, env) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one process."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "RSS_KB=%M"] + cmd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[-4:])} failed:\n{p.stderr[-2000:]}")
    rss = int(re.findall(r"RSS_KB=(\d+)", p.stderr)[-1]) / 1024
    return wall, rss


def raw_limits(db: Path) -> dict:
    import duckdb

    sys.path.insert(0, str(ROOT))
    from qc.lexicon import load

    con = duckdb.connect(str(db), read_only=True)
    t = time.perf_counter()
    con.execute("SELECT sum(length(text)) FROM messages").fetchone()
    scan = time.perf_counter() - t
    texts = [r[0] for r in con.execute("SELECT text FROM messages WHERE role = 'agent'").fetchall()]
    n = con.execute("SELECT count(*) FROM messages").fetchone()[0]
    con.close()
    import ahocorasick_rs      # the library the match stage uses (qc/textmatch.py)

    a = ahocorasick_rs.AhoCorasick(sorted({p for p in load("forbidden").phrases if p}))
    t = time.perf_counter()
    hits = len(a.find_matches_as_indexes("\n".join(t or "" for t in texts), overlapping=True))
    ac = time.perf_counter() - t
    return {"duckdb_text_scan_msg_s": round(n / scan), "aho_corasick_agent_text_msg_s": round(len(texts) / ac),
            "agent_messages": len(texts)}


def one_size(label: str, repeat: int, naive: bool, work: Path) -> dict:
    convs = SIZES[label]
    data = work / label
    if not (data / "chats.jsonl").exists():
        subprocess.run(QC + ["sample", "-n", str(convs), "--days", "30", "--start", "2026-11-01", "--out", str(data)],
                       check=True, stdout=subprocess.DEVNULL)
    runs = []
    for i in range(repeat):
        db = work / f"{label}-{i}.duckdb"
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        env = {**os.environ, "QC_DB": str(db)}
        r = {}
        r["ingest"] = timed(QC + ["ingest", str(data / "chats.jsonl"), str(data / "orders.jsonl")], env)
        r["inspect"] = timed(QC + ["inspect", "--all"], env)
        r["scorecard"] = timed(QC + ["scorecard", "--period", "2026-11", "--format", "xlsx",
                                     "--out", str(work / f"{label}.xlsx")], env)
        r["db_mb"] = db.stat().st_size / 2**20
        runs.append(r)
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    n = con.execute("SELECT count(*) FROM messages").fetchone()[0]
    findings = con.execute("SELECT count(*) FROM findings").fetchone()[0]
    con.close()
    med = lambda xs: statistics.median(xs)  # noqa: E731
    out = {"size": label, "messages": n, "findings": findings, "runs": repeat}
    total = 0.0
    for stage in ("ingest", "inspect", "scorecard"):
        wall = med([r[stage][0] for r in runs])
        total += wall
        # every run's seconds too: on a noisy hour the spread says how far the median can be trusted
        out[stage] = {"seconds": round(wall, 2), "msg_s": round(n / wall), "peak_rss_mb": round(max(r[stage][1] for r in runs)),
                      "runs_s": [round(r[stage][0], 2) for r in runs]}
    out["night"] = {"seconds": round(total, 2), "msg_s": round(n / total), "us_per_msg": round(total / n * 1e6, 2)}
    out["peak_rss_mb"] = max(out[s]["peak_rss_mb"] for s in ("ingest", "inspect", "scorecard"))
    out["db_mb"] = round(med([r["db_mb"] for r in runs]), 1)
    out["raw"] = raw_limits(db)
    if naive:
        p = subprocess.run([sys.executable, str(ROOT / "bench" / "naive.py"), "--chats", str(data / "chats.jsonl"),
                            "--time-only"], capture_output=True, text=True, check=True)
        out["naive"] = json.loads(p.stdout.strip().splitlines()[-1])
        out["speedup_vs_naive"] = round(out["naive"]["seconds"] / total, 1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100k,300k,1m")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--work", type=Path, default=None, help="keep generated data here between runs")
    ap.add_argument("--name", default="night", help="results file: bench/results/NAME.json (e.g. night-10m)")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="qc-night-"))
    work.mkdir(parents=True, exist_ok=True)
    results = [one_size(s.strip(), a.repeat, not a.no_naive, work) for s in a.sizes.split(",")]
    meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d")}
    from results_io import save

    save(a.name, {"meta": meta, "results": results})
    print("| size | messages | ingest msg/s | inspect msg/s | scorecard s | night msg/s | µs/msg | peak RSS MB | DB MB | naive s | × naive |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['size']} | {r['messages']:,} | {r['ingest']['msg_s']:,} | {r['inspect']['msg_s']:,} | "
              f"{r['scorecard']['seconds']} | {r['night']['msg_s']:,} | {r['night']['us_per_msg']} | {r['peak_rss_mb']} | "
              f"{r['db_mb']} | {r.get('naive', {}).get('seconds', '-')} | {r.get('speedup_vs_naive', '-')} |")
    for r in results:
        print(f"raw limits at {r['size']}: DuckDB text scan {r['raw']['duckdb_text_scan_msg_s']:,} msg/s, "
              f"Aho-Corasick over agent text {r['raw']['aho_corasick_agent_text_msg_s']:,} msg/s")


if __name__ == "__main__":
    main()
