"""Nothing lost, nothing corrupted, nothing injected: one regression test per defect found
by hostile testing (issue 10). Each went red on the code before its fix."""

import csv
import json

import pytest
from typer.testing import CliRunner

from qc import store
from qc.cli import app
from qc.ingest import ingest_paths
from qc.inspect import inspect

from .conftest import write_jsonl

runner = CliRunner()


def counts(rep):
    d = rep.as_dict()
    return d["read"], d["ingested"], d["duplicate"], d["quarantined"]


def msg(cid, ts, role, text, **kw):
    return {"conversation_id": cid, "ts": ts, "role": role, "text": text,
            **({"agent_id": "衣选:小雅"} if role == "agent" else {"customer_id": "tb_林"}), "shop_id": "衣选服饰", **kw}


# 1 ---------------------------------------------------------------------------------
def test_csv_unterminated_quote_costs_one_row(con, tmp_path):
    f = tmp_path / "chats.csv"
    with f.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["conversation_id", "ts", "role", "agent_id", "text"])
        for i in range(1000):
            w.writerow([f"c{i // 10}", f"2026-11-03 10:{i % 60:02d}:{i % 7:02d}", "customer", "", f"第{i}条，这个有货吗"])
    lines = f.read_text(encoding="utf-8").splitlines()
    lines[10] = 'c0,2026-11-03 10:59:00,customer,,"好的'          # a stray opening quote
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert counts(ingest_paths(con, [f])) == (1000, 999, 0, 1)
    (line, reason), = con.execute("SELECT line, reason FROM quarantine").fetchall()
    assert line == 11 and "引号" in reason
    assert con.execute("SELECT max(length(text)) FROM messages").fetchall()[0][0] < 50


def test_csv_multiline_quoted_message_is_kept(con, tmp_path):
    f = tmp_path / "m.csv"
    f.write_text('conversation_id,ts,role,text\nc1,2026-11-03 10:00:00,customer,"第一行\n第二行，有""引号"""\n'
                 'c1,2026-11-03 10:00:10,customer,在吗\n', encoding="utf-8")
    assert counts(ingest_paths(con, [f])) == (2, 2, 0, 0)
    assert con.execute("SELECT text FROM messages ORDER BY seq").fetchall()[0][0] == '第一行\n第二行，有"引号"'


# 2, 11 ------------------------------------------------------------------------------
def test_seq_beyond_32_bits_and_fractional_seq(con, tmp_path):
    big = write_jsonl(tmp_path / "big.jsonl", [msg("s1", "2026-11-03 10:00:00", "customer", "在吗", seq=3000000000),
                                               msg("s1", "2026-11-03 10:00:05", "customer", "有人吗", seq=3000000001),
                                               msg("s2", "2026-11-03 10:00:00", "customer", "你好", seq=10**17)])
    frac = write_jsonl(tmp_path / "frac.jsonl", [msg("f1", "2026-11-03 10:00:00", "customer", "一", seq=3),
                                                 msg("f1", "2026-11-03 10:00:01", "customer", "二", seq=3.5),
                                                 msg("f1", "2026-11-03 10:00:02", "customer", "三", seq=4)])
    later = write_jsonl(tmp_path / "later.jsonl", [msg("l1", "2026-11-03 11:00:00", "customer", "后面的文件")])
    rep = ingest_paths(con, [big, frac, later])
    assert counts(rep) == (7, 5, 0, 2) and not rep.as_dict()["errors"]
    assert con.execute("SELECT seq FROM messages WHERE conversation_id = 's1' ORDER BY seq").fetchall() == [(3000000000,), (3000000001,)]
    assert con.execute("SELECT seq, text FROM messages WHERE conversation_id = 'f1' ORDER BY seq").fetchall() == [(3, "一"), (4, "三")]
    reasons = dict(con.execute("SELECT raw, reason FROM quarantine").fetchall())
    assert any("超出范围" in r for r in reasons.values()) and any("3.5" in r for r in reasons.values())
    inspect(con)      # 64-bit seqs flow through the rules and findings


# 3: tests/test_crash.py kills runs at many points.

# 4, 5 ------------------------------------------------------------------------------
HOSTILE = "[/x] [bold]粗体[/bold] \x1b[8m隐藏\x1b[0m \x1b[2J 有货吗"


def test_markup_and_terminal_escapes_in_text_ids_and_paths(tmp_path):
    d = tmp_path / "[red]exports[" / "x]"          # a path holding the markup "[/x]"
    d.mkdir(parents=True)
    rows = [msg("[/x]c1", "2026-11-03 10:00:00", "customer", HOSTILE),
            {**msg("[/x]c1", "2026-11-03 10:00:50", "agent", "已经很低了[/x]\x1b]0;pwned\x07"), "agent_id": "衣选:[/x]小雅"}]
    f = write_jsonl(d / "c.jsonl", rows + [{"conversation_id": "[/x]c2", "role": "customer", "text": "[/x]没有时间"}])
    db = tmp_path / "h.duckdb"
    outs = []
    for args in (["ingest", str(f)], ["inspect"], ["findings"], ["findings", "--format", "csv"], ["explain", "[/x]c1"],
                 ["quarantine"], ["scorecard", "--period", "2026-11"], ["spotcheck", "--period", "2026-11", "--rate", "1"]):
        r = runner.invoke(app, args + ["--db", str(db)])
        assert r.exit_code == 0, (args, r.output, r.exception)
        assert "\x1b" not in r.output, args
        outs.append(r.output)
    assert "[/x]c1" in outs[4] and "[/x] [bold]粗体[/bold]" in outs[4]      # printed as typed
    assert "衣选:[/x]小雅" in outs[6]


# 6 ---------------------------------------------------------------------------------
def test_xlsx_with_control_character_in_agent_id(tmp_path):
    from openpyxl import load_workbook

    rows = [msg("x1", "2026-11-03 10:00:00", "customer", "在吗"),
            {**msg("x1", "2026-11-03 10:00:10", "agent", "在的亲"), "agent_id": "衣选:小\x07雅"}]
    db = tmp_path / "x.duckdb"
    runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "x.jsonl", rows)), "--db", str(db)])
    runner.invoke(app, ["inspect", "--db", str(db)])
    out = tmp_path / "card.xlsx"
    r = runner.invoke(app, ["scorecard", "--period", "2026-11", "--db", str(db), "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    ws = load_workbook(out).active
    assert ws.cell(2, 1).value == "衣选:小\ufffd雅"


# 7: tests/test_findings_layer.py::test_review_survives_late_messages_that_renumber

# 8 ---------------------------------------------------------------------------------
def test_rows_with_and_without_seq_are_ordered_by_time(con, tmp_path):
    rows = [msg("m1", "2026-11-03 10:00:00", "customer", "收到的羽绒服破了个洞"),
            msg("m1", "2026-11-03 10:05:00", "agent", "非常抱歉，给您补发一件", seq=1),
            msg("m1", "2026-11-03 10:06:00", "customer", "好的")]
    ingest_paths(con, [write_jsonl(tmp_path / "m.jsonl", rows)])
    assert [r[0] for r in con.execute("SELECT text FROM messages ORDER BY seq").fetchall()] == \
        ["收到的羽绒服破了个洞", "非常抱歉，给您补发一件", "好的"]
    inspect(con, use_models=False)
    assert con.execute("SELECT count(*) FROM findings WHERE rule_id = 'missing_apology'").fetchall()[0][0] == 0


# 9 ---------------------------------------------------------------------------------
def test_mixed_encodings_line_by_line(con, tmp_path):
    gbk = [json.dumps(msg("e1", f"2026-11-03 10:00:{i:02d}", "customer", f"这个焊机有货吗{i}"), ensure_ascii=False) for i in range(8)]
    utf = json.dumps(msg("e1", "2026-11-03 10:01:00", "customer", "你好，UTF-8 这一行"), ensure_ascii=False)
    f = tmp_path / "mostly_gbk.jsonl"
    f.write_bytes(b"\n".join([l.encode("gbk") for l in gbk] + [utf.encode("utf-8")]) + b"\n")
    g = tmp_path / "mostly_utf8.jsonl"
    g.write_bytes(b"\n".join([l.encode("utf-8") for l in gbk] + ["在吗".join(['{"conversation_id": "e2", "ts": "2026-11-03 10:00:00", "role": "customer", "text": "', '"}']).encode("gbk")]) + b"\n")
    assert counts(ingest_paths(con, [f, g])) == (18, 10, 8, 0)
    texts = {r[0] for r in con.execute("SELECT text FROM messages").fetchall()}
    assert "你好，UTF-8 这一行" in texts and "在吗" in texts and "这个焊机有货吗0" in texts
    assert not any("浣" in t for t in texts)


# 10: tests/test_pii.py (one test per kind) and the output formats below
def test_findings_jsonl_and_table_are_masked(tmp_path):
    rows = [msg("p1", "2026-11-03 10:00:00", "customer", "电话138-1234-5678，地址杭州市西湖区文三路88号3栋2单元501室，什么时候发货？"),
            msg("p1", "2026-11-03 10:00:10", "agent", "亲，在的"),
            msg("p1", "2026-11-03 10:00:30", "customer", "电话138-1234-5678，地址杭州市西湖区文三路88号3栋2单元501室，什么时候发货？")]
    db = tmp_path / "p.duckdb"
    runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "p.jsonl", rows)), "--db", str(db)])
    runner.invoke(app, ["inspect", "--db", str(db)])
    for fmt in ("jsonl", "table", "csv"):
        out = runner.invoke(app, ["findings", "--db", str(db), "--format", fmt]).output
        assert "unanswered_question" in out or "顾客问题" in out or "未回复" in out, out
        assert "1234-5678" not in out and "文三路" not in out, (fmt, out)
    raw = runner.invoke(app, ["findings", "--db", str(db), "--format", "jsonl", "--no-mask"]).output
    assert "138-1234-5678" in raw


# 12 --------------------------------------------------------------------------------
def test_json_array_lone_surrogate_and_truncation(con, tmp_path):
    f = tmp_path / "a.json"
    f.write_text('[{"conversation_id": "j1", "ts": "2026-11-03 10:00:00", "role": "customer", "text": "好的"},\n'
                 ' {"conversation_id": "j1", "ts": "2026-11-03 10:00:05", "role": "customer", "text": "\\ud800坏"},\n'
                 ' {"conversation_id": "j1", "ts": "2026-11-03 10:00:09", "role": "customer", "text": "在吗"}]', encoding="utf-8")
    t = tmp_path / "t.json"
    t.write_text('[{"conversation_id": "j2", "ts": "2026-11-03 10:00:00", "role": "customer", "text": "一"},'
                 ' {"conversation_id": "j2", "ts": "2026-11-03 10:00:01", "role": "customer", "text": "二"}, {"convers', encoding="utf-8")
    rep = ingest_paths(con, [f, t])
    assert not rep.as_dict()["errors"] and counts(rep) == (6, 4, 0, 2)
    assert {r[0] for r in con.execute("SELECT reason FROM quarantine").fetchall()} >= {
        "包含无效的 Unicode 代理字符 (invalid unicode: a lone surrogate such as \\ud800)"}


# 13 --------------------------------------------------------------------------------
def test_readers_never_change_the_file(tmp_path):
    import hashlib

    db = tmp_path / "r.duckdb"
    runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "r.jsonl", [msg("r1", "2026-11-03 10:00:00", "customer", "在吗")])), "--db", str(db)])
    runner.invoke(app, ["inspect", "--db", str(db)])
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for args in (["findings"], ["explain", "r1"], ["quarantine"], ["scorecard", "--period", "2026-11"]):
        assert runner.invoke(app, args + ["--db", str(db)]).exit_code == 0
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    import duckdb

    foreign = tmp_path / "shop_bi.duckdb"
    duckdb.connect(str(foreign)).execute("CREATE TABLE sales (x INT)").close()
    for args in (["findings"], ["scorecard", "--period", "2026-11"], ["quarantine"]):
        r = runner.invoke(app, args + ["--db", str(foreign)])
        assert r.exit_code == 2 and "不是 qc 数据库" in r.output, r.output
    c = duckdb.connect(str(foreign), read_only=True)
    assert c.execute("SELECT table_name FROM information_schema.tables").fetchall() == [("sales",)]
    c.close()


# 14 --------------------------------------------------------------------------------
def test_chat_row_with_order_id_stays_a_chat(con, tmp_path):
    rows = [msg("o1", "2026-11-03 10:00:00", "customer", "这个订单怎么还没发货？", order_id="2611030001"),
            msg("o1", "2026-11-03 10:00:10", "agent", "亲，我查一下")]
    order = {"order_id": "2611030001", "customer_id": "tb_林", "shop_id": "衣选服饰", "created_at": "2026-11-02 09:00:00",
             "paid_at": "2026-11-02 09:01:00", "amount": 299}
    assert counts(ingest_paths(con, [write_jsonl(tmp_path / "mix.jsonl", rows + [order])])) == (3, 3, 0, 0)
    assert con.execute("SELECT count(*) FROM messages WHERE conversation_id = 'o1'").fetchall()[0][0] == 2
    assert con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == 1


# 15 --------------------------------------------------------------------------------
def test_empty_csv_and_empty_jsonl_alike(tmp_path):
    db = tmp_path / "e.duckdb"
    (tmp_path / "e.csv").write_text("", encoding="utf-8")
    (tmp_path / "e.jsonl").write_text("", encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(tmp_path / "e.csv"), str(tmp_path / "e.jsonl"), "--db", str(db)]).exit_code == 0


def test_skipped_files_in_a_folder_are_named(tmp_path):
    d = tmp_path / "inbox"
    d.mkdir()
    write_jsonl(d / "c.jsonl", [msg("k1", "2026-11-03 10:00:00", "customer", "在吗")])
    (d / "readme.txt").write_text("说明", encoding="utf-8")
    (d / "chats.xlsx").write_bytes(b"PK")
    r = runner.invoke(app, ["ingest", str(d), "--db", str(tmp_path / "k.duckdb")])
    assert r.exit_code == 0 and "跳过 2 个" in r.output and "chats.xlsx" in r.output and "readme.txt" in r.output


def test_duplicated_block_is_not_a_repeated_quick_reply(con, tmp_path):
    block = [msg("d1", "2026-11-03 10:00:00", "customer", "这款有现货吗？"),
             msg("d1", "2026-11-03 10:00:10", "agent", "亲，本店商品均为正品现货，下单后48小时内发出哦"),
             msg("d1", "2026-11-03 10:00:30", "customer", "好的")]
    twice = [msg("d2", "2026-11-03 10:00:00", "customer", "？"), msg("d2", "2026-11-03 10:00:00", "customer", "？")]
    assert counts(ingest_paths(con, [write_jsonl(tmp_path / "dup.jsonl", block + block + twice)])) == (8, 5, 3, 0)
    inspect(con, use_models=False)
    assert con.execute("SELECT count(*) FROM findings WHERE rule_id = 'repeated_quick_reply'").fetchall()[0][0] == 0


def test_killed_runs_do_not_stay_unfinished(con, tmp_path):
    con.execute("INSERT INTO ingest_runs (run_id, started_at, status) VALUES (99, now(), 'running')")
    con.execute("INSERT INTO inspect_runs (run_id, started_at, status) VALUES (99, now(), 'running')")
    ingest_paths(con, [write_jsonl(tmp_path / "k.jsonl", [msg("k1", "2026-11-03 10:00:00", "customer", "在吗")])])
    inspect(con, use_models=False)
    assert con.execute("SELECT status FROM ingest_runs WHERE run_id = 99").fetchall() == [("interrupted",)]
    assert con.execute("SELECT status FROM inspect_runs WHERE run_id = 99").fetchall() == [("interrupted",)]
    assert con.execute("SELECT count(*) FROM ingest_runs WHERE finished_at IS NULL AND status <> 'interrupted'").fetchall()[0][0] == 0


# qc doctor -------------------------------------------------------------------------
def test_doctor_finds_and_repairs(tmp_path):
    import duckdb

    rows = [msg(f"dr{i}", f"2026-11-03 10:0{i}:00", "customer", "在吗") for i in range(3)] + \
           [msg(f"dr{i}", f"2026-11-03 10:0{i}:20", "agent", "在的亲，请问有什么可以帮您") for i in range(3)]
    db = tmp_path / "d.duckdb"
    runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "d.jsonl", rows)), "--db", str(db)])
    runner.invoke(app, ["inspect", "--db", str(db)])
    clean = json.loads(runner.invoke(app, ["doctor", "--db", str(db), "--json"]).output)
    assert clean["schema_version"] == clean["latest"] and not any(c["problems"] for c in clean["checks"])
    c = duckdb.connect(str(db))
    c.execute("UPDATE conversations SET n_messages = 9 WHERE conversation_id = 'dr0'")
    c.execute("UPDATE messages SET seq = 1 WHERE conversation_id = 'dr1'")
    c.execute("INSERT INTO inspect_runs (run_id, started_at, status) VALUES (50, now(), 'running')")
    c.execute("INSERT INTO pending_refresh (conversation_id, ingest_run, late, renumber) VALUES ('dr2', 1, true, true)")
    c.close()
    r = runner.invoke(app, ["doctor", "--db", str(db), "--json"])
    assert r.exit_code == 1
    found = {x["id"]: x["problems"] for x in json.loads(r.output)["checks"]}
    assert found["derived_mismatch"] == 1 and found["bad_numbering"] == 1 and found["unfinished_runs"] == 1 and found["pending_refresh"] == 1
    r = runner.invoke(app, ["doctor", "--db", str(db), "--repair", "--json"])
    assert r.exit_code == 0 and not any(x["remaining"] for x in json.loads(r.output)["checks"])
    c = duckdb.connect(str(db), read_only=True)
    assert c.execute("SELECT seq FROM messages WHERE conversation_id = 'dr1' ORDER BY ts").fetchall() == [(1,), (2,)]
    assert c.execute("SELECT n_messages FROM conversations WHERE conversation_id = 'dr0'").fetchall() == [(2,)]
    c.close()


def test_undecodable_lines_print_no_stray_exception(tmp_path):
    import subprocess
    import sys

    f = tmp_path / "mixed.jsonl"
    f.write_bytes('{"conversation_id": "u1", "ts": "2026-11-03 10:00:00", "role": "customer", "text": "你好"}\n'.encode("gbk")
                  + b"\xff\xfe\xfa garbage\n")
    r = subprocess.run([sys.executable, "-c", "from qc.cli import main; main()", "ingest", str(f), "--db", str(tmp_path / "u.duckdb")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "Exception ignored" not in r.stderr and "Traceback" not in r.stderr, r.stderr
