"""kill -9 at many points of an ingest with late messages and of an inspect: after a plain
re-run the database equals the one an uninterrupted run gives (row counts and a hash of
messages, conversations, findings and reviews). Real processes, real SIGKILL (qc/faults.py
names the points)."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from qc import store

QC = [sys.executable, "-c", "from qc.cli import main; main()"]

INGEST_POINTS = ["ingest.staged", "ingest.messages_inserted", "ingest.before_orders", "ingest.before_commit",
                 "ingest.committed", "ingest.checkpointed", "refresh.renumbered", "refresh.derived", "ingest.refreshed"]
INSPECT_POINTS = ["inspect.batch", "inspect.match", "inspect.flags", "inspect.rules", "inspect.findings_written",
                  "inspect.committed"]

# What must be equal: the data, not the audit trail (run ids and clocks differ by design).
SNAPSHOT = {
    "messages": "SELECT msg_key, conversation_id, seq, source_seq, ts, role, agent_id, customer_id, shop_id, text, msg_type "
                "FROM messages ORDER BY msg_key",
    "conversations": "SELECT * EXCLUDE (updated_run) FROM conversations ORDER BY conversation_id",
    "findings": "SELECT * EXCLUDE (run_id, created_at) FROM findings ORDER BY finding_id",
    "reviews": "SELECT * FROM reviews ORDER BY finding_id, decided_at",
    "orders": "SELECT * EXCLUDE (ingest_run) FROM orders ORDER BY order_id",
    "pending_refresh": "SELECT * FROM pending_refresh",
}


def snapshot(db) -> dict:
    con = store.connect(db)
    try:
        out = {}
        for name, sql in SNAPSHOT.items():
            rows = con.execute(sql).fetchall()
            out[name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
        out["unfinished_runs"] = con.execute(
            "SELECT (SELECT count(*) FROM ingest_runs WHERE status = 'running') + (SELECT count(*) FROM inspect_runs WHERE status = 'running')"
        ).fetchall()[0][0]
        return out
    finally:
        con.close()


def qc(*args, crash=None):
    """A crashing run is a real process; the others run in-process (same library calls as
    the CLI), which keeps this test quick."""
    if crash:
        env = {**os.environ, "QC_CRASH_AT": crash}
        return subprocess.run(QC + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=300)
    from qc.ingest import ingest_paths
    from qc.inspect import inspect

    db = args[args.index("--db") + 1]
    con = store.connect(db)
    try:
        if args[0] == "ingest":
            assert not ingest_paths(con, list(args[1:args.index("--db")])).as_dict()["errors"]
        else:
            inspect(con, use_models="--no-models" not in args)
    finally:
        con.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A base database (day one ingested, inspected, one finding reviewed) and a second
    file holding late messages for known conversations plus new conversations."""
    from tools.sample import generate

    tmp = tmp_path_factory.mktemp("crash")
    generate(tmp / "gen", conversations=160, seed=11)
    rows = [json.loads(l) for l in (tmp / "gen" / "chats.jsonl").read_text(encoding="utf-8").splitlines()]
    for r in rows:
        r.pop("seq")              # merged by time: late messages renumber their conversations
    convs = sorted({r["conversation_id"] for r in rows})
    early, late_convs = set(convs[:120]), set(convs[:120:3])
    first, second = [], []
    for r in rows:
        c = r["conversation_id"]
        if c not in early:
            second.append(r)                                   # new conversations
        elif c in late_convs and r["ts"] >= max(x["ts"] for x in rows if x["conversation_id"] == c):
            second.append(r)                                   # a conversation's last message, arriving late
        else:
            first.append(r)
    # one late message that sorts *before* what is stored: everything after it renumbers
    lead = min((r for r in first if r["conversation_id"] == convs[0]), key=lambda r: r["ts"])
    second.append({**lead, "ts": lead["ts"].replace(lead["ts"][11:19], "00:00:01"), "text": "在吗（更早的一条）"})
    f1, f2 = tmp / "day1.jsonl", tmp / "day2.jsonl"
    f1.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in first) + "\n", encoding="utf-8")
    f2.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in second) + "\n", encoding="utf-8")
    base = tmp / "base.duckdb"
    qc("ingest", f1, tmp / "gen" / "orders.jsonl", "--db", base)
    qc("inspect", "--db", base, "--no-models")
    con = store.connect(base)
    # a text finding (the late file must not make it go away), in the renumbered conversation
    # when it has one; not "the first id", which moves whenever a lexicon line does
    fid = con.execute("SELECT finding_id FROM findings WHERE rule_id = 'forbidden_phrase' "
                      "ORDER BY conversation_id = ? DESC, finding_id LIMIT 1", [convs[0]]).fetchall()[0][0]
    con.execute("INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at) VALUES (?, 'dismissed', '质检:阿芳', '误报', '2026-11-08 09:00:00+08')", [fid])
    con.execute("CHECKPOINT")
    con.close()
    # the uninterrupted reference
    ref = tmp / "ref.duckdb"
    shutil.copy(base, ref)
    qc("ingest", f2, "--db", ref)
    ref_after_ingest = snapshot(ref)
    qc("inspect", "--db", ref, "--no-models")
    return {"tmp": tmp, "base": base, "f2": f2, "ref_ingest": ref_after_ingest, "ref": snapshot(ref), "ref_db": ref}


@pytest.mark.parametrize("point", INGEST_POINTS)
def test_ingest_killed_then_rerun_equals_uninterrupted(world, point):
    db = world["tmp"] / f"i-{point}.duckdb"
    shutil.copy(world["base"], db)
    r = qc("ingest", world["f2"], "--db", db, crash=point)
    assert r.returncode == -9, (point, r.returncode, r.stderr[-500:])
    qc("ingest", world["f2"], "--db", db)
    assert snapshot(db) == world["ref_ingest"], point
    qc("inspect", "--db", db, "--no-models")
    assert snapshot(db) == world["ref"], point


@pytest.mark.parametrize("point", INSPECT_POINTS)
def test_inspect_killed_then_rerun_equals_uninterrupted(world, point):
    db = world["tmp"] / f"s-{point}.duckdb"
    shutil.copy(world["base"], db)
    qc("ingest", world["f2"], "--db", db)
    r = qc("inspect", "--db", db, "--no-models", crash=point)
    assert r.returncode == -9, (point, r.returncode, r.stderr[-500:])
    qc("inspect", "--db", db, "--no-models")
    assert snapshot(db) == world["ref"], point


def test_the_late_file_really_renumbers_and_keeps_the_review(world):
    con = store.open_reader(world["ref_db"])
    try:
        assert con.execute("SELECT count(*) FROM conversations WHERE needs_inspection").fetchall()[0][0] == 0
        assert con.execute("SELECT decision FROM review_latest r JOIN findings f USING (finding_id)").fetchall() == [("dismissed",)]
        texts = con.execute("SELECT seq FROM messages WHERE text = '在吗（更早的一条）'").fetchall()
        assert texts == [(1,)]
    finally:
        con.close()
