"""The unattended night: twice adds nothing, a killed night re-runs to the same database,
`qc serve` puts the configured schedules on a real local Prefect server and runs a night,
and `prefect deploy --all` accepts prefect.yaml."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from qc import store
from qc.ingest import ingest_paths
from qc.inspect import inspect
from qc.nightly import ingest_inbox

from .conftest import write_jsonl
from .test_crash import snapshot

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def night_rows(n=40, day="2026-11-03"):
    rows = []
    for i in range(n):
        c = f"nt-{i:03d}"
        rows += [{"conversation_id": c, "ts": f"{day} 10:{i % 60:02d}:00", "role": "customer", "shop_id": "衣选服饰",
                  "customer_id": f"tb{i}", "text": "收到的羽绒服破了个洞" if i % 3 == 0 else "这件有现货吗"},
                 {"conversation_id": c, "ts": f"{day} 10:{i % 60:02d}:40", "role": "agent", "agent_id": f"衣选:{'甲乙丙'[i % 3]}",
                  "shop_id": "衣选服饰", "text": "您拍个照片发过来" if i % 3 == 0 else "有的亲，今天就能发"}]
    return rows


def run_night(db, inbox, tmp):
    con = store.connect(db)
    try:
        d = ingest_inbox(con, inbox, tmp / "archive", tmp / "rejected")
        inspect(con, use_models=False)
        return d
    finally:
        con.close()


def test_the_same_night_twice_adds_nothing(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_jsonl(inbox / "d1.jsonl", night_rows())
    db = tmp_path / "n.duckdb"
    first = run_night(db, inbox, tmp_path)
    assert first["ingested"] == 80 and first["archived"]
    before = snapshot(db)
    # the exporter drops the same file again: read, all duplicates, archived beside the first
    write_jsonl(inbox / "d1.jsonl", night_rows())
    again = run_night(db, inbox, tmp_path)
    assert again["ingested"] == 0 and again["duplicate"] == 80
    assert snapshot(db) == before
    assert len(list((tmp_path / "archive").rglob("d1*.jsonl"))) == 2


CRASH_NIGHT = """
import sys
from pathlib import Path
from qc import store
from qc.nightly import ingest_inbox
from qc.inspect import inspect
tmp = Path(sys.argv[2])
con = store.connect(sys.argv[1])
ingest_inbox(con, tmp / "inbox", tmp / "archive", tmp / "rejected")
inspect(con, use_models=False)
"""


@pytest.mark.parametrize("point", ["ingest.before_commit", "ingest.committed", "inspect.findings_written"])
def test_a_night_killed_midway_reruns_to_the_same_database(tmp_path, point):
    def fresh(name):
        d = tmp_path / name
        (d / "inbox").mkdir(parents=True)
        write_jsonl(d / "inbox" / "d1.jsonl", night_rows())
        return d

    ref = fresh("ref")
    run_night(ref / "n.duckdb", ref / "inbox", ref)
    crash = fresh("crash")
    r = subprocess.run([sys.executable, "-c", CRASH_NIGHT, str(crash / "n.duckdb"), str(crash)],
                       env={**os.environ, "QC_CRASH_AT": point}, capture_output=True, text=True, timeout=120)
    assert r.returncode == -9, r.stderr[-400:]
    if point.startswith("ingest"):
        assert list((crash / "inbox").iterdir()), "a night killed in ingest has not archived its file yet"
    run_night(crash / "n.duckdb", crash / "inbox", crash)
    assert snapshot(crash / "n.duckdb") == snapshot(ref / "n.duckdb")
    assert not list((crash / "inbox").iterdir())


# ---- a real local Prefect server --------------------------------------------------------


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("local Prefect server did not start: " + (home / "server.log").read_text()[-2000:])
    yield {"url": url, "env": {**env, "PREFECT_API_URL": url}, "home": home}
    proc.terminate()
    proc.wait(20)


def _api(url, path, body=None):
    return httpx.post(f"{url}{path}", json=body or {}, timeout=10).json()


def test_qc_serve_schedules_the_configured_cron_and_runs_a_night(prefect_server, tmp_path):
    url, env = prefect_server["url"], prefect_server["env"]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_jsonl(inbox / "d1.jsonl", night_rows(10))
    home = tmp_path / "home"
    # a shop's own config (QC_HOME): its folders, the shipped lexicons and models
    (home / "config").mkdir(parents=True)
    for d in ("lexicons", "models", "data"):
        os.symlink(ROOT / d, home / d)
    shutil.copy(ROOT / "config" / "scorecard.yaml", home / "config")
    (home / "config" / "qc.yaml").write_text(
        f"timezone: Asia/Shanghai\nnightly:\n  cron: '30 1 * * *'\n  inbox: {inbox}\n  archive: {tmp_path / 'archive'}\n"
        f"  rejected: {tmp_path / 'rejected'}\n  outbox: {tmp_path / 'outbox'}\n", encoding="utf-8")
    db = tmp_path / "serve.duckdb"
    serve = subprocess.Popen([str(BIN / "qc"), "serve", "--db", str(db)], env={**env, "QC_HOME": str(home)},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deps = {}
        for _ in range(120):
            deps = {d["name"]: d for d in _api(url, "/deployments/filter")}
            if {"nightly", "shift", "monthly"} <= set(deps):
                break
            time.sleep(0.5)
        assert {"nightly", "shift", "monthly"} <= set(deps), serve.stdout.read() if serve.poll() is not None else "no deployments"
        sched = deps["nightly"]["schedules"][0]["schedule"]
        assert (sched["cron"], sched["timezone"]) == ("30 1 * * *", "Asia/Shanghai")
        runs = []
        for _ in range(60):
            runs = [r for r in _api(url, "/flow_runs/filter", {"limit": 50})
                    if r["deployment_id"] == deps["nightly"]["id"] and r["state_type"] == "SCHEDULED"]
            if runs:
                break
            time.sleep(0.5)
        assert runs and runs[0]["expected_start_time"].endswith(("17:30:00Z", "17:30:00+00:00")), runs[:1]
        # run the night now; the serving process picks it up
        run = httpx.post(f"{url}/deployments/{deps['nightly']['id']}/create_flow_run", json={}, timeout=10).json()
        state = None
        for _ in range(240):
            state = httpx.get(f"{url}/flow_runs/{run['id']}", timeout=10).json()["state_type"]
            if state in ("COMPLETED", "FAILED", "CRASHED"):
                break
            time.sleep(0.5)
        assert state == "COMPLETED", state
    finally:
        serve.terminate()
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
    con = store.open_reader(db)
    try:
        assert con.execute("SELECT count(*) FROM runs WHERE flow = 'qc-nightly'").fetchall()[0][0] == 1
        assert con.execute("SELECT count(*) FROM messages").fetchall()[0][0] == 20
    finally:
        con.close()
    assert list((tmp_path / "archive").rglob("d1.jsonl"))


def test_prefect_deploy_all_accepts_prefect_yaml(prefect_server):
    env = {**prefect_server["env"], "QC_HOME": str(ROOT)}
    r = subprocess.run([str(BIN / "prefect"), "work-pool", "create", "qc-pool", "--type", "process"],
                       env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], env=env, capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    deps = {d["name"]: d for d in _api(prefect_server["url"], "/deployments/filter")}
    for name, cron in (("nightly", "0 2 * * *"), ("shift", "0 10-22/2 * * *"), ("monthly", "0 3 1 * *")):
        assert name in deps
        scheds = [s["schedule"] for s in deps[name]["schedules"]]
        assert any(s.get("cron") == cron and s.get("timezone") == "Asia/Shanghai" for s in scheds), (name, scheds)
