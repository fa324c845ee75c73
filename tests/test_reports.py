"""Team-lead reports: the scorecard workbook read back with openpyxl, HTML reports that
escape hostile text and mask PII, and quadrants that separate a team."""

import collections
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from qc import store
from qc.cli import app
from qc.ingest import ingest_paths
from qc.inspect import inspect
from qc.paths import SAMPLE_DIR
from qc.reports import display_width

from .conftest import write_jsonl

runner = CliRunner()


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    db = d / "s.duckdb"
    con = store.connect(db)
    hostile = [
        {"conversation_id": "zz-01", "ts": "2026-11-20 10:00:00", "role": "customer", "customer_id": "tb_x", "shop_id": "衣选服饰",
         "text": "<script>alert('x')</script>收到的衣服破了个洞，电话13812345678，地址杭州市西湖区文三路88号3栋501室",
         "sku": "YX-羽绒服-黑-L"},
        {"conversation_id": "zz-01", "ts": "2026-11-20 10:00:20", "role": "agent", "agent_id": "衣选:小雅", "shop_id": "衣选服饰",
         "text": "=HYPERLINK(\"http://evil\") 您拍个照片发过来"},
        # a flagged agent message (不议价: forbidden_phrase) that starts like a formula
        {"conversation_id": "zz-02", "ts": "2026-11-21 10:00:00", "role": "customer", "customer_id": "tb_y", "shop_id": "衣选服饰",
         "text": "能便宜点吗"},
        {"conversation_id": "zz-02", "ts": "2026-11-21 10:00:20", "role": "agent", "agent_id": "衣选:小雅", "shop_id": "衣选服饰",
         "text": "@SUM(1+1) 不议价哦"},
    ]
    ingest_paths(con, [SAMPLE_DIR / "chats.jsonl", SAMPLE_DIR / "orders.jsonl", write_jsonl(d / "h.jsonl", hostile)])
    inspect(con)
    con.close()
    return db, d


def test_scorecard_workbook_reads_back_formatted(sample_db):
    db, d = sample_db
    out = d / "card.xlsx"
    r = runner.invoke(app, ["scorecard", "--period", "2026-11", "--db", str(db), "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "计分", "明细", "示例", "指标说明"]
    ws = wb["汇总"]
    head = [c.value for c in ws[1]]
    col = {h: i for i, h in enumerate(head)}
    row2 = [c for c in ws[2]]
    assert row2[col["付款转化率"]].number_format == "0.0%"
    assert row2[col["应发工资"]].number_format == '"¥"#,##0.00'
    assert {ws.cell(i, col["岗位"] + 1).value for i in range(2, ws.max_row + 1)} <= {"售前", "售后"}
    assert row2[col["平均首响(秒)"]].number_format == '0.0" 秒"'
    # every column is at least as wide as its Chinese header
    for c in ws[1]:
        assert ws.column_dimensions[c.column_letter].width >= display_width(c.value), c.value
    assert ws.freeze_panes == "B2" and ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "FFDDEBF7"
    # 计分: each indicator's value in its own format, the points as plain numbers
    pts = {r[3].value: r for r in wb["计分"].iter_rows(min_row=2)}
    assert pts["付款转化率"][4].number_format == "0.0%" and pts["平均首次响应时间(秒)"][4].number_format == '0.0" 秒"'
    assert pts["付款转化率"][5].number_format == "General" and isinstance(pts["付款转化率"][5].value, (int, float))
    ind = wb["指标说明"]
    assert "越高越好" in {c.value for c in ind["C"]} and "付款转化率" in {c.value for c in ind["B"]}
    fs = wb["明细"]
    cells = [c.value for row in fs.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert cells and not any(v.startswith(("=", "+", "-", "@")) for v in cells)
    assert not any("13812345678" in v or "文三路" in v for v in cells)


def test_a_sheet_takes_any_text_and_an_empty_table_keeps_its_header(tmp_path):
    """A pasted log longer than an Excel cell holds is cut to Excel's 32,767 characters (the
    writer refuses it otherwise), emoji included; a table with no rows still has its header."""
    from qc.reports import CELL_MAX_CHARS, new_workbook, write_sheet

    wb = new_workbook()
    write_sheet(wb, "明细", ["说明", "消息原文（已脱敏）"], [["刷单" * 20000, "😀" * 20000 + "亲"]])
    write_sheet(wb, "售后问题", ["商品", "问题类型", "次数"], [])
    wb.save(tmp_path / "w.xlsx")
    book = load_workbook(tmp_path / "w.xlsx")
    a, b = (c.value for c in book["明细"][2])
    assert a == ("刷单" * 20000)[:CELL_MAX_CHARS] and b.endswith("😀亲")
    assert [c.value for c in book["售后问题"][1]] == ["商品", "问题类型", "次数"]


def test_quadrants_separate_the_team(sample_db):
    db, _ = sample_db
    r = runner.invoke(app, ["scorecard", "--period", "2026-11", "--db", str(db), "--format", "jsonl"])
    rows = [json.loads(l) for l in r.output.splitlines()]
    counts = collections.Counter(x["quadrant"] for x in rows)
    assert len(rows) >= 15 and max(counts.values()) <= len(rows) // 2, counts
    assert all("qualified_bar" in x and "fitting_bar" in x for x in rows)


def test_agent_and_team_html_escape_and_mask(sample_db):
    db, d = sample_db
    for args, out in ((["report", "agent", "衣选:小雅"], d / "agent.html"), (["report", "team"], d / "team.html")):
        r = runner.invoke(app, args + ["--period", "2026-11", "--db", str(db), "--out", str(out)])
        assert r.exit_code == 0, r.output
        page = out.read_text(encoding="utf-8")
        assert "<script>alert" not in page and "13812345678" not in page and "文三路" not in page
        assert "<svg" in page and "http://" not in page.split("<style>")[0]
    agent = (d / "agent.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in agent and "团队中位数" in agent and "评定依据" in agent
    team = (d / "team.html").read_text(encoding="utf-8")
    assert "规则 × 客服" in team and "询单流失" in team and "合格 × 合适" in team
    # after-sales problems by product: the optional sku of the input contract
    assert "YX-羽绒服-黑-L" in team and "破损" in team


def test_report_errors_are_clear(sample_db):
    db, d = sample_db
    r = runner.invoke(app, ["report", "agent", "衣选:小丫", "--period", "2026-11", "--db", str(db), "--out", str(d / "x.html")])
    assert r.exit_code == 2 and "did you mean" in r.output
    r = runner.invoke(app, ["report", "team", "--period", "2026-11", "--db", str(db), "--out", str(d / "x.pdf")])
    assert r.exit_code == 2 and ".html" in r.output
    r = runner.invoke(app, ["report", "team", "--period", "2026/11", "--db", str(db), "--out", str(d / "x.html")])
    assert r.exit_code == 2 and "2026/11" in r.output


def test_team_workbook_has_its_sheets(sample_db):
    db, d = sample_db
    out = d / "team.xlsx"
    assert runner.invoke(app, ["report", "team", "--period", "2026-11", "--db", str(db), "--out", str(out)]).exit_code == 0
    assert load_workbook(out).sheetnames == ["汇总", "计分", "明细", "示例", "询单流失", "售后问题", "指标说明"]


def test_team_workbook_values_equal_the_sql(sample_db):
    """Read back with openpyxl: 汇总 equals the scorecard, 计分 adds up to each total, 明细 is
    the findings layer row for row, 示例 marks the flagged message, every table has an
    autofilter, and no cell from chat text can start a formula."""
    from qc.scorecard import scorecard

    db, d = sample_db
    out = d / "team2.xlsx"
    assert runner.invoke(app, ["report", "team", "--period", "2026-11", "--db", str(db), "--out", str(out)]).exit_code == 0
    wb = load_workbook(out)
    con = store.open_reader(db)
    try:
        rows = {r["agent_id"]: r for r in scorecard(con, "2026-11")}
        n_findings = con.execute("SELECT count(*) FROM findings WHERE strftime(day, '%Y-%m') = '2026-11'").fetchone()[0]
    finally:
        con.close()
    ws = wb["汇总"]
    head = [c.value for c in ws[1]]
    got = {r[0]: dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(got) == set(rows)
    for a, r in rows.items():
        assert got[a]["付款转化率"] == pytest.approx(r["payment_conversion"]) if r["payment_conversion"] is not None else True
        assert got[a]["总分"] == pytest.approx(r["total_points"]) and got[a]["应发工资"] == pytest.approx(r["pay"])
        # numbers stored as numbers, not text (the writer stores every number as a double: 27.0)
        assert isinstance(got[a]["接待人数(会话)"], (int, float)) and got[a]["接待人数(会话)"] == r["conversations"]
    pts = wb["计分"]
    ph = [c.value for c in pts[1]]
    sums = collections.defaultdict(float)
    for r in pts.iter_rows(min_row=2, values_only=True):
        d_ = dict(zip(ph, r))
        sums[d_["客服"]] += d_["得分×权重"]
    for a, r in rows.items():
        assert sums[a] == pytest.approx(r["total_points"]), a
    det = wb["明细"]
    assert det.max_row - 1 == n_findings
    ex = wb["示例"]
    assert any(r[7] == "◀" for r in ex.iter_rows(min_row=2, values_only=True))
    for name in ("汇总", "计分", "明细", "示例", "询单流失", "售后问题"):
        assert wb[name].auto_filter.ref and wb[name].freeze_panes, name
    cells = [c.value for ws_ in wb for row in ws_.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert not any(v.startswith(("=", "+", "-", "@")) for v in cells)
    assert any("@SUM(1+1) 不议价哦" in v for v in cells)    # the hostile text is there, neutralised
    assert not any("13812345678" in v for v in cells)


def test_outbox_reports_for_every_shop_and_agent(sample_db, tmp_path):
    from qc.reports import write_outbox

    db, _ = sample_db
    con = store.open_reader(db)
    try:
        r = write_outbox(con, "2026-11", tmp_path)
        first = sorted(p.name for p in (tmp_path / "2026-11").iterdir())
        again = write_outbox(con, "2026-11", tmp_path)      # the next night replaces the same files
    finally:
        con.close()
    assert sorted(p.name for p in (tmp_path / "2026-11").iterdir()) == first and again["files"] == r["files"]
    assert "团队报告-衣选服饰.html" in first and "团队报告-衣选服饰.xlsx" in first and "团队报告-全部店铺.html" in first
    assert "客服报告-衣选_小雅.html" in first and r["agents"] >= 15 and r["shops"] == 4
    assert r["files"] == 2 * (r["shops"] + 1) + r["agents"]
    shop = (tmp_path / "2026-11" / "团队报告-衣选服饰.html").read_text(encoding="utf-8")
    assert "衣选:小雅" in shop and "果乐:阿强" not in shop
    assert load_workbook(tmp_path / "2026-11" / "团队报告-衣选服饰.xlsx").sheetnames[0] == "汇总"
