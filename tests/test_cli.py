"""The CLI contract: qc ingest / inspect / findings / explain / quarantine."""

import csv
import io
import json

from typer.testing import CliRunner

from qc.cli import app

from .conftest import write_jsonl

runner = CliRunner()

ROWS = [
    {"conversation_id": "yx-01", "ts": "2026-11-04 20:00:00", "role": "customer", "customer_id": "tb_林", "shop_id": "衣选服饰",
     "text": "这件羽绒服能便宜点吗？"},
    {"conversation_id": "yx-01", "ts": "2026-11-04 20:00:12", "role": "agent", "agent_id": "衣选:小雅", "shop_id": "衣选服饰",
     "text": "=HYPERLINK(\"http://x\") 已经很低了，不议价"},
    {"conversation_id": "yx-01", "ts": "2026-11-04 20:00:30", "role": "customer", "customer_id": "tb_林", "shop_id": "衣选服饰",
     "text": "<script>alert(1)</script>好吧"},
    {"conversation_id": "yx-01", "ts": "2026-11-04 20:00:40", "role": "agent", "agent_id": "衣选:小雅", "shop_id": "衣选服饰",
     "text": "亲，有需要随时联系哦"},
]


def setup_db(tmp_path):
    db = tmp_path / "cli.duckdb"
    f = write_jsonl(tmp_path / "c.jsonl", ROWS + [{"conversation_id": "yx-02", "role": "customer", "text": "缺时间"}])
    r = runner.invoke(app, ["ingest", str(f), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert (d["read"], d["ingested"], d["duplicate"], d["quarantined"]) == (5, 4, 0, 1)
    r = runner.invoke(app, ["inspect", "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    return db


def test_findings_jsonl_contract(tmp_path):
    db = setup_db(tmp_path)
    r = runner.invoke(app, ["findings", "--db", str(db), "--format", "jsonl"])
    assert r.exit_code == 0
    rows = [json.loads(l) for l in r.output.splitlines()]
    required = {"conversation_id", "rule_id", "message_seq", "agent_id", "severity", "evidence", "review_status"}
    assert rows and all(required <= set(x) for x in rows)
    fp = [x for x in rows if x["rule_id"] == "forbidden_phrase"]
    assert len(fp) == 1 and fp[0]["message_seq"] == 2 and fp[0]["agent_id"] == "衣选:小雅"
    assert {e["phrase"] for e in fp[0]["evidence"]} == {"已经很低了", "不议价"}
    assert "lexicons/forbidden.txt:" in fp[0]["explanation"]
    # bargained, no order, no follow-up after the agent's last answer
    assert any(x["rule_id"] == "bargain_followup_late" for x in rows)
    # filters
    r = runner.invoke(app, ["findings", "--db", str(db), "--format", "jsonl", "--rule", "forbidden_phrase", "--agent", "衣选:小雅"])
    assert len(r.output.splitlines()) == 1
    r = runner.invoke(app, ["findings", "--db", str(db), "--format", "jsonl", "--agent", "衣选:小丫"])
    assert r.exit_code == 2 and "衣选:小丫" in r.output and "did you mean" in r.output and "衣选:小雅" in r.output


def test_findings_csv_neutralises_formulas(tmp_path):
    db = setup_db(tmp_path)
    r = runner.invoke(app, ["findings", "--db", str(db), "--format", "csv", "--rule", "forbidden_phrase"])
    assert r.stdout_bytes.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel"
    rows = list(csv.DictReader(io.StringIO(r.output.lstrip("\ufeff"))))
    assert len(rows) == 1 and rows[0]["规则"] == "forbidden_phrase"
    for v in rows[0].values():
        assert not (v or " ")[0] in "=+-@"


def test_explain_marks_findings_inline(tmp_path):
    db = setup_db(tmp_path)
    r = runner.invoke(app, ["explain", "yx-01", "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert "衣选服饰" in r.output and "forbidden_phrase" in r.output and "<script>alert(1)</script>好吧" in r.output
    r = runner.invoke(app, ["explain", "nope", "--db", str(db)])
    assert r.exit_code != 0


def test_quarantine_lists_file_and_line(tmp_path):
    db = setup_db(tmp_path)
    r = runner.invoke(app, ["quarantine", "--db", str(db), "--format", "jsonl"])
    q = [json.loads(l) for l in r.output.splitlines()]
    assert len(q) == 1 and q[0]["line"] == 5 and q[0]["field"] == "ts" and q[0]["file"].endswith("c.jsonl")


def test_ingest_unreadable_file_exits_nonzero(tmp_path):
    r = runner.invoke(app, ["ingest", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "x.duckdb")])
    assert r.exit_code == 1 and "nope.jsonl" in r.output


def test_db_from_environment(tmp_path, monkeypatch):
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("QC_DB", str(db))
    f = write_jsonl(tmp_path / "c.jsonl", ROWS)
    assert runner.invoke(app, ["ingest", str(f)]).exit_code == 0
    assert db.exists()


def test_csv_masks_phone_and_address(tmp_path):
    rows = [
        {"conversation_id": "m1", "ts": "2026-11-04 20:00:00", "role": "customer", "text": "地址改成浙江省杭州市西湖区文三路88号，电话13812345678，到了吗"},
        {"conversation_id": "m1", "ts": "2026-11-04 20:00:10", "role": "agent", "agent_id": "衣选:小雅", "text": "好的亲已备注"},
        {"conversation_id": "m1", "ts": "2026-11-04 20:00:20", "role": "customer", "text": "电话13812345678能打通吗？"},
    ]
    db = tmp_path / "m.duckdb"
    runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "m.jsonl", rows)), "--db", str(db)])
    runner.invoke(app, ["inspect", "--db", str(db)])
    out = runner.invoke(app, ["findings", "--db", str(db), "--format", "csv", "--rule", "unanswered_question"]).output
    assert "138****5678" in out and "13812345678" not in out
    raw = runner.invoke(app, ["findings", "--db", str(db), "--format", "csv", "--no-mask"]).output
    assert "13812345678" in raw


def test_mask_pii_address():
    from qc.safety import mask_pii

    assert mask_pii("寄到浙江省杭州市西湖区文三路88号3栋501室，谢谢") == "寄到〔地址已隐藏〕，谢谢"
    assert mask_pii("滚筒洗衣机") == "滚筒洗衣机"
