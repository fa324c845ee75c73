"""Console page timings on a big database (issue: pages < 300 ms with 1M messages and 50k findings).

    python bench/console_bench.py --conversations 125000      # generates, ingests, inspects, then times
    python bench/console_bench.py --db /path/to/qc.duckdb     # times an existing database

Times each page through the real app (FastAPI TestClient: routing, session, scoped SQL on the
working copy, Jinja2 rendering) — medians of 7 after one warm-up — and the working copy's
refresh. Writes bench/results/console.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def qc(*args, env=None):
    subprocess.run([sys.executable, "-c", "from qc.cli import main; main()", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db")
    ap.add_argument("--conversations", type=int, default=125000)
    ap.add_argument("--days", type=int, default=30)
    a = ap.parse_args()
    import os

    if a.db:
        db = Path(a.db)
    else:
        d = Path(tempfile.mkdtemp(prefix="qc-console-bench-"))
        db = d / "qc.duckdb"
        qc("sample", "-n", str(a.conversations), "--days", str(a.days), "--out", str(d / "gen"))
        env = {**os.environ, "QC_DB": str(db)}
        qc("ingest", str(d / "gen" / "chats.jsonl"), str(d / "gen" / "orders.jsonl"), env=env)
        qc("inspect", "--all", env=env)
    from fastapi.testclient import TestClient

    from qc.review import Journal
    from qc.web.app import create_app

    j = Journal.open(db)
    if not j.user("bench"):
        j.add_user("bench", "qc", "bench-password")
    app = create_app(db, sync_s=3600)
    out = {}
    with TestClient(app) as c:
        wc = app.state.wc
        with wc.cursor() as cur:
            out["messages"] = cur.execute("SELECT count(*) FROM messages").fetchone()[0]
            out["findings"] = cur.execute("SELECT count(*) FROM findings").fetchone()[0]
            conv = cur.execute("SELECT conversation_id FROM findings ORDER BY finding_id LIMIT 1").fetchone()[0]
            day = cur.execute("SELECT max(day) FROM conversations").fetchone()[0].isoformat()
        t = time.perf_counter()
        wc.sync(force=True)
        out["copy_refresh_s"] = round(time.perf_counter() - t, 3)
        tok = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
        c.post("/login", data={"csrf": tok, "name": "bench", "password": "bench-password"})
        pages = {
            "queue": "/queue",
            "queue_filtered": "/queue?rule=slow_response&severity=low&status=all",
            "queue_page_20": "/queue?status=all&page=20",
            "conversation": f"/c/{conv}?status=pending",
            "sample": f"/sample?day={day}",
            "stats": "/stats",
        }
        times = {}
        for name, url in pages.items():
            r = c.get(url)
            assert r.status_code == 200, (url, r.status_code)
            ts = []
            for _ in range(7):
                t = time.perf_counter()
                c.get(url)
                ts.append(time.perf_counter() - t)
            times[name] = round(statistics.median(ts) * 1000, 1)
        out["page_ms_median"] = times
        # a decision: journal + copy + redirect to the next pending item
        html = c.get(pages["conversation"]).text
        fid = re.search(r'name="finding_id" value="([^"]+)"', html).group(1)
        t = time.perf_counter()
        c.post("/decide", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', html).group(1), "finding_id": fid,
                                "action": "confirm", "filters": "status=pending"}, follow_redirects=False)
        out["decide_ms"] = round((time.perf_counter() - t) * 1000, 1)
    out["db_mb"] = round(db.stat().st_size / 2**20, 1)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    from results_io import save

    save("console", out)


if __name__ == "__main__":
    main()
