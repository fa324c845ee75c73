"""The console keeps serving and loses no decision while an inspection writes the database.

DuckDB admits one writing process per file. The console (a separate `qc web` process)
reads its own working copy and journals every decision before it answers, so pages never
wait on the inspection's lock, and the decisions reach the database when it is free."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from qc import findings as F
from qc import store

from .console_kit import PASSWORD, build, csrf_of

QC = [sys.executable, "-c", "from qc.cli import main; main()"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test_decisions_posted_during_an_inspection_are_all_stored(tmp_path):
    db = build(tmp_path)
    port = free_port()
    env = {**os.environ, "QC_DB": str(db)}
    web = subprocess.Popen(QC + ["web", "--port", str(port), "--sync-s", "0.3"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        c = httpx.Client(base_url=base, timeout=30)
        deadline = time.monotonic() + 60
        while True:
            try:
                c.get("/healthz")
                break
            except httpx.TransportError:
                assert web.poll() is None, web.stdout.read()
                assert time.monotonic() < deadline
                time.sleep(0.2)
        tok = csrf_of(c.get("/login").text)
        assert c.post("/login", data={"csrf": tok, "name": "qc1", "password": PASSWORD}).status_code in (200, 303)
        con = store.open_reader(db)
        ids = [f.finding_id for f in F.query(con)]
        con.close()
        # an inspection (two, back to back) in another process, as the nightly run does
        inspect = subprocess.Popen(QC + ["inspect", "--all"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        posted, statuses, during = [], [], 0
        for i, fid in enumerate(ids[:60]):
            page = c.get(f"/c/{'XSS-001'}")
            statuses.append(page.status_code)
            action = "confirm" if i % 2 else "dismiss"
            r = c.post("/decide", data={"csrf": csrf_of(page.text), "finding_id": fid, "action": action,
                                        "reason_preset": "误判：语境不符"}, follow_redirects=False)
            statuses.append(r.status_code)
            posted.append((fid, "confirmed" if action == "confirm" else "dismissed"))
            statuses.append(c.get("/queue").status_code)
            if inspect.poll() is None:
                during += 1
            elif i < 30:
                inspect = subprocess.Popen(QC + ["inspect", "--all"], env=env, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)
        out, _ = inspect.communicate(timeout=120)
        assert inspect.returncode == 0, out
        assert during >= 5, "the decisions did not overlap the inspection"
        assert set(statuses) <= {200, 303}, statuses
        # every decision reaches the database once the console syncs
        deadline = time.monotonic() + 30
        while True:
            if c.get("/healthz").json()["pending"] is False:
                break
            assert time.monotonic() < deadline, "journal not applied"
            time.sleep(0.3)
    finally:
        web.terminate()
        web.wait(timeout=30)
    con = store.open_reader(db)
    got = {f.finding_id: f.review_status for f in F.query(con)}
    n = con.execute("SELECT count(*) FROM reviews").fetchone()[0]
    con.close()
    assert all(got[fid] == st for fid, st in posted), [(fid, st, got[fid]) for fid, st in posted if got[fid] != st]
    assert n == len(posted)
