"""Team report timing (issue: a month of 50 agents and 1M messages renders in under a minute).

    python bench/report_bench.py                 # generates 1M messages, spreads them over 50 agents, times
    python bench/report_bench.py --db FILE       # times an existing database

The generator has 15 agents; each conversation's agent becomes one of 3–4 colleagues
(<agent>-<k>, k from the conversation id) so the month has 50 agents with realistic load.
Times the CLI the lead runs (`qc report team` to .html and .xlsx, `qc report agent`) as
processes, medians of 3, and the nightly outbox (every shop and agent). Writes
bench/results/reports.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QC = [sys.executable, "-c", "from qc.cli import main; main()"]


def run(*args, env=None):
    subprocess.run(QC + list(args), check=True, env=env, stdout=subprocess.DEVNULL)


def timed(*args, env=None, n=3):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        run(*args, env=env)
        ts.append(time.perf_counter() - t)
    return round(statistics.median(ts), 2)


def spread_agents(src: Path, dst: Path) -> int:
    import duckdb

    con = duckdb.connect()
    con.execute(f"""
        COPY (
          WITH m AS (SELECT * FROM read_json('{src}', format='newline_delimited', auto_detect=true)),
               a AS (SELECT DISTINCT agent_id FROM m WHERE agent_id IS NOT NULL),
               k AS (SELECT agent_id, CASE WHEN row_number() OVER (ORDER BY agent_id) <= 5 THEN 4 ELSE 3 END AS n FROM a)
          SELECT m.* REPLACE (CASE WHEN m.agent_id IS NULL THEN NULL
                                   ELSE m.agent_id || '-' || (hash(m.conversation_id) % k.n)::VARCHAR END AS agent_id)
          FROM m LEFT JOIN k USING (agent_id)
        ) TO '{dst}' (FORMAT json)""")
    return con.execute(f"SELECT count(DISTINCT agent_id) FROM read_json('{dst}', format='newline_delimited')").fetchone()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db")
    ap.add_argument("--conversations", type=int, default=100000)
    ap.add_argument("--period", default="2026-11")
    a = ap.parse_args()
    out = {}
    d = Path(tempfile.mkdtemp(prefix="qc-report-bench-"))
    if a.db:
        db = Path(a.db)
    else:
        db = d / "qc.duckdb"
        run("sample", "-n", str(a.conversations), "--days", "30", "--out", str(d / "gen"))
        out["agents"] = spread_agents(d / "gen" / "chats.jsonl", d / "chats50.jsonl")
        env = {**os.environ, "QC_DB": str(db)}
        run("ingest", str(d / "chats50.jsonl"), str(d / "gen" / "orders.jsonl"), env=env)
        run("inspect", "--all", env=env)
    env = {**os.environ, "QC_DB": str(db)}
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    out["messages"] = con.execute("SELECT count(*) FROM messages").fetchone()[0]
    out["findings"] = con.execute("SELECT count(*) FROM findings").fetchone()[0]
    out["agents"] = con.execute("SELECT count(DISTINCT agent_id) FROM messages WHERE agent_id IS NOT NULL").fetchone()[0]
    agent = con.execute("SELECT agent_id FROM messages WHERE agent_id IS NOT NULL LIMIT 1").fetchone()[0]
    con.close()
    out["team_html_s"] = timed("report", "team", "--period", a.period, "--out", str(d / "team.html"), env=env)
    out["team_xlsx_s"] = timed("report", "team", "--period", a.period, "--out", str(d / "team.xlsx"), env=env)
    out["agent_html_s"] = timed("report", "agent", agent, "--period", a.period, "--out", str(d / "agent.html"), env=env)
    t = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from qc import store
    from qc.reports import write_outbox

    c = store.open_reader(db)
    r = write_outbox(c, a.period, d / "outbox")
    c.close()
    out["outbox_s"] = round(time.perf_counter() - t, 2)
    out["outbox_files"] = r["files"]
    print(json.dumps(out, ensure_ascii=False, indent=2))
    from results_io import save

    save("reports", out)


if __name__ == "__main__":
    main()
