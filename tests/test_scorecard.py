"""The scorecard on real chats: KPIs cross-checked against an independent pandas
computation, quality deductions, reviews, quadrant, and the Excel file read back."""

import json
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from qc import store
from qc.cli import app
from qc.ingest import ingest_paths
from qc.inspect import inspect
from qc.paths import ROOT
from qc.scorecard import scorecard

from .conftest import write_jsonl
from .kpi_reference import reference_kpis

SAMPLE = ROOT / "data" / "sample"
KPI_KEYS = ("conversations", "inquiries", "order_conversion", "payment_conversion", "sales", "avg_order_value",
            "avg_first_response_s", "avg_response_s", "slow_responses", "answer_question_ratio")


def chat(cid, start, customer, agent, lines, shop="果乐零食铺", queue=None):
    t0 = datetime.fromisoformat(start)
    rows = []
    for dt, role, text in lines:
        r = {"conversation_id": cid, "ts": (t0 + timedelta(seconds=dt)).isoformat(), "role": role, "text": text,
             "shop_id": shop, "customer_id": customer}
        if role == "agent":
            r["agent_id"] = agent
        if queue:
            r["queue"] = queue
        rows.append(r)
    return rows


@pytest.fixture
def small_db(tmp_path):
    rows = []
    rows += chat("g1", "2026-11-05T10:00:00+08:00", "tb_a", "果乐:阿珍", [
        (0, "customer", "夏威夷果有礼盒装吗？"), (10, "agent", "有的亲，这款礼盒很受欢迎"),
        (40, "customer", "多少钱"), (60, "agent", "礼盒128元，今天下单包邮"), (90, "customer", "好的")])
    rows += chat("g2", "2026-11-06T11:00:00+08:00", "tb_b", "果乐:阿珍", [
        (0, "customer", "巴旦木能便宜点吗"), (50, "agent", "已经很低了，爱买不买"), (70, "customer", "那算了")])
    rows += chat("g3", "2026-11-07T12:00:00+08:00", "tb_c", "果乐:小美", [
        (0, "customer", "收到的坚果发霉了"), (20, "agent", "非常抱歉，马上给您补发"), (200, "customer", "什么时候发？"),
        (230, "agent", "今天就发")], queue="aftersales")
    orders = [
        {"order_id": "O1", "customer_id": "tb_a", "shop_id": "果乐零食铺", "created_at": "2026-11-05T10:02:00+08:00",
         "paid_at": "2026-11-05T10:03:00+08:00", "amount": 128},
        {"order_id": "O2", "customer_id": "tb_b", "shop_id": "果乐零食铺", "agent_id": "果乐:阿珍",
         "created_at": "2026-11-06T11:05:00+08:00", "paid_at": None, "amount": 59},
    ]
    db = tmp_path / "sc.duckdb"
    con = store.connect(db)
    ingest_paths(con, [write_jsonl(tmp_path / "c.jsonl", rows), write_jsonl(tmp_path / "o.jsonl", orders)])
    inspect(con, all_=True)
    yield con, db
    con.close()


def test_small_scorecard_by_hand(small_db):
    con, _ = small_db
    rows = {r["agent_id"]: r for r in scorecard(con, "2026-11")}
    az = rows["果乐:阿珍"]
    assert az["conversations"] == 2 and az["inquiries"] == 2
    assert az["order_conversion"] == 1.0           # tb_a (attributed by last agent) and tb_b (named)
    assert az["payment_conversion"] == 0.5         # only tb_a paid
    assert az["sales"] == 128.0 and az["avg_order_value"] == 128.0
    assert az["avg_first_response_s"] == 30.0      # (10 + 50) / 2
    assert az["avg_response_s"] == pytest.approx(26.7, abs=0.05)  # (10 + 20 + 50) / 3
    assert az["redlines"] == 0 and az["findings_attitude"] >= 1
    # g2: forbidden_phrase high (10) + slow_first_response medium (5) -> 85 (the customer's
    # last message "那算了" was never answered, so no follow-up was due); g1: clean -> 100
    assert az["quality_score"] == 92.5
    assert az["role_group"] == "presales" and rows["果乐:小美"]["role_group"] == "aftersales"
    assert az["max_points"] == 289 and 0 < az["pay"]


def test_dismissed_finding_deducts_nothing(small_db):
    con, _ = small_db
    fid = con.execute("SELECT finding_id FROM findings WHERE rule_id = 'forbidden_phrase'").fetchone()[0]
    con.execute("INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at) VALUES (?, 'dismissed', '质检:王', '顾客开玩笑的语境', now())", [fid])
    rows = {r["agent_id"]: r for r in scorecard(con, "2026-11")}
    assert rows["果乐:阿珍"]["quality_score"] == 97.5


def test_redline_fails_the_conversation(tmp_path):
    rows = chat("r1", "2026-11-05T10:00:00+08:00", "tb_x", "衣选:小雅", [
        (0, "customer", "这件卫衣起球了"), (10, "agent", "非常抱歉"), (20, "customer", "怎么处理"), (30, "agent", "滚")],
        shop="衣选服饰")
    con = store.connect(tmp_path / "r.duckdb")
    ingest_paths(con, [write_jsonl(tmp_path / "r.jsonl", rows)])
    inspect(con, all_=True)
    r = scorecard(con, "2026-11")[0]
    assert r["quality_score"] == 0.0 and r["redlines"] == 1 and r["quadrant"] in ("合格但不合适", "不合格也不合适")


@pytest.mark.skipif(not (SAMPLE / "chats.jsonl").exists(), reason="bundled sample not generated")
def test_sample_kpis_match_independent_pandas(tmp_path):
    con = store.connect(tmp_path / "s.duckdb")
    ingest_paths(con, [SAMPLE])
    inspect(con, all_=True)
    ours = {r["agent_id"]: r for r in scorecard(con, "2026-11")}
    ref = reference_kpis(con, "2026-11-01", "2026-12-01")
    assert set(ours) == set(ref) and len(ours) >= 10
    for agent, exp in ref.items():
        for k in KPI_KEYS:
            got, want = ours[agent][k], exp[k]
            if want is None:
                assert got is None, (agent, k)
            else:
                # both sides round (times to 0.1 s, ratios to 0.001): allow one rounding step
                tol = 0.11 if k.endswith("_s") else 0.0011
                assert got == pytest.approx(want, abs=tol), (agent, k, got, want)


def test_scorecard_cli_jsonl_and_xlsx(small_db, tmp_path):
    _, db = small_db
    runner = CliRunner()
    r = runner.invoke(app, ["scorecard", "--period", "2026-11", "--db", str(db), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    objs = [json.loads(l) for l in r.output.splitlines()]
    need = {"agent_id", "period", "conversations", "inquiries", "order_conversion", "payment_conversion", "sales",
            "avg_order_value", "avg_first_response_s", "avg_response_s", "answer_question_ratio", "slow_responses",
            "quality_score", "total_points", "max_points", "pay", "quadrant"}
    assert objs and all(need <= set(o) for o in objs)
    out = tmp_path / "sc.xlsx"
    r = runner.invoke(app, ["scorecard", "--period", "2026-11", "--db", str(db), "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert header[0] == "客服" and "应发工资" in header and ws.max_row == 1 + len(objs)
    r = runner.invoke(app, ["scorecard", "--period", "2026-13", "--db", str(db)])
    assert r.exit_code != 0


def test_quality_over_sampled_conversations_only(small_db):
    import dataclasses

    from qc.scorecard import draw_spot_checks
    from qc.scorecard_config import load_scorecard_config

    con, _ = small_db
    base = load_scorecard_config()
    cfg = dataclasses.replace(base, quality=dataclasses.replace(base.quality, over="sampled"))
    # nothing sampled yet: no score, and the row says so
    rows = {r["agent_id"]: r for r in scorecard(con, "2026-11", cfg=cfg)}
    assert rows["果乐:阿珍"]["quality_score"] is None and rows["果乐:阿珍"]["scored_conversations"] == 0
    # a reviewed finding makes its conversation sampled: g2 alone scores 85
    fid = con.execute("SELECT finding_id FROM findings WHERE rule_id = 'forbidden_phrase'").fetchone()[0]
    con.execute("INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at) VALUES (?, 'confirmed', '质检:王', '', now())", [fid])
    rows = {r["agent_id"]: r for r in scorecard(con, "2026-11", cfg=cfg)}
    assert rows["果乐:阿珍"]["quality_score"] == 85.0 and rows["果乐:阿珍"]["scored_conversations"] == 1
    assert rows["果乐:阿珍"]["quality_over"] == "sampled"
    # 抽检: half of each agent's conversations, at least one each; the same seed draws nothing new
    drawn = draw_spot_checks(con, "2026-11", rate=0.5, seed=7)
    assert sorted(a for a, _ in drawn) == ["果乐:小美", "果乐:阿珍"]
    assert draw_spot_checks(con, "2026-11", rate=0.5, seed=7) == []
    rows = {r["agent_id"]: r for r in scorecard(con, "2026-11", cfg=cfg)}
    picked = dict(drawn)["果乐:阿珍"]
    assert rows["果乐:阿珍"]["scored_conversations"] == (1 if picked == "g2" else 2)
    assert rows["果乐:阿珍"]["quality_score"] == (85.0 if picked == "g2" else 92.5)
    assert rows["果乐:小美"]["scored_conversations"] == 1
    # the default (all inspected) is unchanged by sampling
    assert {r["agent_id"]: r for r in scorecard(con, "2026-11")}["果乐:阿珍"]["quality_score"] == 92.5


def test_spotcheck_cli_draws_deterministically(small_db, tmp_path):
    con, db = small_db
    con.close()
    res = CliRunner().invoke(app, ["spotcheck", "--period", "2026-11", "--rate", "1", "--seed", "3", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "新抽取 3 个会话" in res.output
    con2 = store.connect(db)
    assert con2.execute("SELECT count(*) FROM spot_checks WHERE period = '2026-11'").fetchone()[0] == 3
    con2.close()
    bad = CliRunner().invoke(app, ["spotcheck", "--period", "2026-11", "--rate", "2", "--db", str(db)])
    assert bad.exit_code != 0
