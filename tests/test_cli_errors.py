"""A user mistake never shows a traceback: each path a user hit, with its exit code and a
message naming the bad value (issue: rule house / CLI)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qc.cli import app

from .conftest import write_jsonl
from .test_cli import ROWS

runner = CliRunner()
QC = [sys.executable, "-c", "from qc.cli import main; main()"]


def run(*args):
    r = runner.invoke(app, [str(a) for a in args])
    # a clean exit or typer's usage error, never an uncaught exception
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    return r


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "e.duckdb"
    assert run("ingest", write_jsonl(tmp_path / "c.jsonl", ROWS), "--db", path).exit_code == 0
    return path


@pytest.fixture
def inspected(db):
    assert run("inspect", "--db", db).exit_code == 0
    return db


def test_spotcheck_period_with_slash(inspected):
    r = run("spotcheck", "--period", "2026/11", "--db", inspected)
    assert r.exit_code == 2 and "2026/11" in r.output and "YYYY-MM" in r.output


def test_findings_impossible_date(inspected):
    r = run("findings", "--date", "2026-11-99", "--db", inspected)
    assert r.exit_code == 2 and "2026-11-99" in r.output and "YYYY-MM-DD" in r.output


def test_inspect_date_yesterday_is_understood(db):
    r = run("inspect", "--date", "yesterday", "--db", db, "--json")
    assert r.exit_code == 0 and json.loads(r.output)["scope"].startswith("date=20")
    r = run("inspect", "--date", "last tuesday", "--db", db)
    assert r.exit_code == 2 and "last tuesday" in r.output


def test_reader_on_a_mistyped_db_creates_nothing(inspected, tmp_path):
    typo = tmp_path / "qc.duckbd"
    for cmd in (["findings"], ["explain", "yx-01"], ["scorecard", "--period", "2026-11"], ["quarantine"],
                ["spotcheck", "--period", "2026-11"]):
        r = run(*cmd, "--db", typo)
        assert r.exit_code == 2 and "qc.duckbd" in r.output and "不存在" in r.output, (cmd, r.output)
    assert not typo.exists() and not Path(str(typo) + ".wal").exists()


def test_unknown_rule_gets_did_you_mean(inspected):
    r = run("findings", "--rule", "forbiden_phrase", "--db", inspected)
    assert r.exit_code == 2 and "forbiden_phrase" in r.output and "forbidden_phrase" in r.output and "did you mean" in r.output


def test_commands_that_need_an_inspection_say_so(db):
    for cmd in (["scorecard", "--period", "2026-11"], ["findings"]):
        r = run(*cmd, "--db", db)
        assert r.exit_code == 2 and "qc inspect" in r.output, (cmd, r.output)


def test_fixed_choices_and_ranges_are_checked(inspected):
    r = run("findings", "--format", "xml", "--db", inspected)
    assert r.exit_code == 2 and "xml" in r.output
    r = run("quarantine", "--limit", "-1", "--db", inspected)
    assert r.exit_code == 2 and "-1" in r.output
    r = run("scorecard", "--period", "2026-11", "--team", "衣选服装", "--db", inspected)
    assert r.exit_code == 2 and "衣选服饰" in r.output


def test_foreign_and_corrupt_files_are_refused_clearly(tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(os.urandom(5000))
    sqlite = tmp_path / "shop.db"
    sqlite.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    for f in (junk, sqlite):
        r = run("findings", "--db", f)
        assert r.exit_code == 2 and f.name in r.output, r.output
    import duckdb

    foreign = tmp_path / "foreign.duckdb"
    duckdb.connect(str(foreign)).execute("CREATE TABLE sales (x INT)").close()
    r = run("ingest", write_jsonl(tmp_path / "c.jsonl", ROWS), "--db", foreign)
    assert r.exit_code == 2 and "不是 qc 数据库" in r.output
    tables = duckdb.connect(str(foreign), read_only=True).execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert tables == [("sales",)]


def test_findings_while_a_writer_holds_the_database(inspected):
    """A reader waits for the lock; when it is not released in time it says an inspection
    is running (Chinese and English), with no traceback. Real processes: DuckDB's lock is
    per process."""
    env = {**os.environ, "QC_LOCK_WAIT_S": "1"}
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import duckdb, time; c = duckdb.connect({str(inspected)!r}); print('held', flush=True); time.sleep(6)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = subprocess.run(QC + ["findings", "--db", str(inspected)], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 2, r.stderr
        assert "正被另一个 qc 进程使用" in r.stderr and "inspection or ingest is running" in r.stderr
        assert "Traceback" not in r.stderr + r.stdout
        # with a longer wait the reader gets in once the writer is done
        r = subprocess.run(QC + ["findings", "--db", str(inspected), "--format", "jsonl"], capture_output=True,
                           text=True, env={**os.environ, "QC_LOCK_WAIT_S": "30"}, timeout=60)
        assert r.returncode == 0 and r.stdout.count("\n") >= 2, r.stderr
    finally:
        holder.kill()
        holder.wait()


def test_findings_during_a_real_inspect_never_tracebacks(tmp_path):
    from tools.sample import generate

    generate(tmp_path / "gen", conversations=3000, seed=3)
    db = tmp_path / "big.duckdb"
    assert run("ingest", tmp_path / "gen" / "chats.jsonl", "--db", db).exit_code == 0
    env = {**os.environ, "QC_LOCK_WAIT_S": "60"}
    ins = subprocess.Popen(QC + ["inspect", "--db", str(db), "--no-models"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(0.3)
    r = subprocess.run(QC + ["findings", "--db", str(db), "--format", "jsonl"], capture_output=True, text=True, env=env, timeout=120)
    out, errs = ins.communicate(timeout=120)
    assert ins.returncode == 0, errs
    assert "Traceback" not in r.stderr
    # it waited for the inspection, or (had it started first) said none had run yet
    assert (r.returncode == 0 and r.stdout.count("\n") > 10) or (r.returncode == 2 and "qc inspect" in r.stderr), r.stderr


def test_memory_cap_is_applied_and_a_bad_one_is_named(inspected, monkeypatch):
    # every qc connection is capped (DuckDB would take 80 % of RAM: 5 GB for a 10M-message
    # month's scorecard); the cap is QC_MEMORY_LIMIT, and a typo names the variable
    from qc import store

    monkeypatch.setenv("QC_MEMORY_LIMIT", "1GB")
    con = store.open_reader(inspected)
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] in ("953.6 MiB", "1.0 GiB", "1000.0 MB")
    con.close()
    monkeypatch.setenv("QC_MEMORY_LIMIT", "lots")
    r = run("scorecard", "--period", "2026-11", "--db", inspected)
    assert r.exit_code == 2 and "QC_MEMORY_LIMIT" in r.output and "lots" in r.output
    monkeypatch.setenv("QC_MEMORY_LIMIT", "none")
    assert run("scorecard", "--period", "2026-11", "--db", inspected).exit_code == 0


def test_a_night_command_ends_without_teardown_but_with_all_its_output(tmp_path):
    """The night's commands leave by os._exit (qc/cli.py _FAST_EXIT): their whole output must
    still arrive through a pipe, the store must be closed cleanly, and the exit code kept."""
    db = tmp_path / "f.duckdb"
    env = {**os.environ, "QC_DB": str(db)}
    chats = write_jsonl(tmp_path / "c.jsonl", ROWS)
    p = subprocess.run(QC + ["ingest", str(chats)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(QC + ["inspect", "--json"], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)            # the last byte came through: the JSON is whole
    assert report["messages"] == len(ROWS) and report["findings"] >= 1
    # closed, not abandoned: another process opens the file read-only and sees the findings
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM findings").fetchone()[0] == report["findings"]
    con.close()
    assert not Path(str(db) + ".wal").exists()
    # a user mistake keeps its exit code and its message
    p = subprocess.run(QC + ["findings", "--date", "2026-11-99"], capture_output=True, text=True, env=env)
    assert p.returncode == 2 and "2026-11-99" in p.stdout + p.stderr and "Traceback" not in p.stderr
