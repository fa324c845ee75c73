"""Reviews from the command line and the library: `qc review`, `qc rules stats`, the journal
(applied once, whoever applies it), appeals, the spot-check draw."""

import json
import math

import pytest
from typer.testing import CliRunner

from qc import findings as F
from qc import store
from qc.cli import app
from qc.config import load_config
from qc.review import Journal, ReviewError, User, rule_stats, wilson
from qc.web import queries as q

from .console_kit import build

runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    return build(tmp_path)


def run(*args):
    r = runner.invoke(app, [*args])
    return r


def statuses(db):
    con = store.open_reader(db)
    try:
        return {f.finding_id: f for f in F.query(con)}
    finally:
        con.close()


def test_qc_review_confirm_dismiss_and_findings_field(db):
    fs = list(statuses(db).values())
    a, b = fs[0].finding_id, fs[1].finding_id
    r = run("review", a, "--confirm", "--reviewer", "张质检", "--db", str(db))
    assert r.exit_code == 0 and "已确认" in r.output
    r = run("review", b, "--dismiss", "--db", str(db))
    assert r.exit_code == 2 and "驳回需要" in r.output            # a dismissal needs a reason
    r = run("review", b, "--dismiss", "--reason", "误判：语境不符", "--db", str(db))
    assert r.exit_code == 0
    out = run("findings", "--format", "jsonl", "--db", str(db)).output
    got = {d["finding_id"]: d for d in map(json.loads, out.splitlines())}
    assert got[a]["review_status"] == "confirmed" and got[a]["reviewer"] == "张质检"
    assert got[b]["review_status"] == "dismissed" and got[b]["review_reason"] == "误判：语境不符"
    assert run("review", "nope", "--confirm", "--db", str(db)).exit_code == 2
    assert run("review", a, "--confirm", "--dismiss", "--db", str(db)).exit_code == 2


def test_dismissal_raises_the_agents_quality_score(db):
    def score(agent):
        out = run("scorecard", "--period", "2026-11", "--format", "jsonl", "--db", str(db)).output
        return next(d for d in map(json.loads, out.splitlines()) if d["agent_id"] == agent)["quality_score"]

    fs = [f for f in statuses(db).values() if f.agent_id == "衣选:小雅"]
    before = score("衣选:小雅")
    for f in fs:
        assert run("review", f.finding_id, "--dismiss", "--reason", "误判", "--db", str(db)).exit_code == 0
    assert score("衣选:小雅") > before


def test_qc_review_add_manual_finding(db):
    r = run("review", "add", "GL-20261101-000018", "2", "forbidden_phrase", "--reason", "阴阳怪气", "--db", str(db))
    assert r.exit_code == 0, r.output
    m = [f for f in statuses(db).values() if f.source == "manual"]
    assert len(m) == 1 and m[0].message_seq == 2 and m[0].rule_id == "forbidden_phrase" and m[0].review_status == "confirmed"
    assert m[0].agent_id and m[0].category == "态度类"
    assert run("review", "add", "GL-20261101-000018", "999", "manual", "--db", str(db)).exit_code == 2
    # manual findings survive re-inspection (only rule findings are replaced)
    assert run("inspect", "--all", "--db", str(db)).exit_code == 0
    assert any(f.source == "manual" for f in statuses(db).values())


def test_journal_applies_once_whoever_applies_it(db):
    j = Journal.open(db)
    f = next(iter(statuses(db).values()))
    # the console decided while another process held the database: only the journal has it
    j.decide(User("qc1", "qc"), f, "confirm")
    assert j.has_pending()
    # a run killed after writing DuckDB but before marking the journal: apply twice
    decisions, manual, spots = j.pending()
    con = store.connect(db)          # every writer applies the journal as it opens the file
    from qc.review import write_entries
    assert write_entries(con, decisions, manual, spots) == 0      # already there: nothing twice
    n = con.execute("SELECT count(*) FROM reviews WHERE finding_id = ?", [f.finding_id]).fetchone()[0]
    con.close()
    assert n == 1 and not j.has_pending()
    assert statuses(db)[f.finding_id].review_status == "confirmed"


def test_appeal_state_machine(db):
    j = Journal.open(db)
    f = next(f for f in statuses(db).values() if f.agent_id == "衣选:小雅")
    agent = User("xiaoya", "agent", agent_id="衣选:小雅")
    other_agent = User("aqiang", "agent", agent_id="果乐:阿强")
    with pytest.raises(ReviewError, match="当前状态"):
        j.decide(agent, f, "appeal", "理由")          # only a confirmed finding can be appealed

    def fresh():
        con = store.connect(db)
        try:
            return F.get(con, f.finding_id)
        finally:
            con.close()

    j.decide(User("qc1", "qc"), fresh(), "confirm")
    with pytest.raises(ReviewError, match="只能申诉自己"):
        j.decide(other_agent, fresh(), "appeal", "理由")
    with pytest.raises(ReviewError, match="理由"):
        j.decide(agent, fresh(), "appeal", "")
    j.decide(agent, fresh(), "appeal", "当时顾客已离开")
    assert fresh().review_status == "appealed"
    with pytest.raises(ReviewError, match="申诉"):
        j.decide(User("qc1", "qc"), fresh(), "confirm")     # an appeal must be decided first
    with pytest.raises(ReviewError, match="另一位"):
        j.decide(User("qc1", "qc"), fresh(), "reject")
    j.decide(User("qc2", "qc"), fresh(), "reject", "话术确有问题")
    assert fresh().review_status == "appeal_rejected" and fresh().counts


def test_rules_stats_exact_precision_and_wilson_interval(db):
    j = Journal.open(db)
    fs = [f for f in statuses(db).values() if f.rule_id == "forbidden_phrase"]
    assert len(fs) >= 7
    qc = User("qc1", "qc")
    for f in fs[:5]:
        j.decide(qc, f, "confirm")
    j.decide(qc, fs[5], "dismiss", "误判：引用客户原话 — 客户先说的")
    j.decide(qc, fs[6], "dismiss", "误判：引用客户原话")
    r = run("rules", "stats", "--format", "jsonl", "--db", str(db))
    assert r.exit_code == 0, r.output
    s = next(d for d in map(json.loads, r.output.splitlines()) if d["rule_id"] == "forbidden_phrase")
    assert (s["reviewed"], s["confirmed"], s["dismissed"]) == (7, 5, 2)
    assert s["precision"] == pytest.approx(5 / 7)
    # Wilson 95 % for 5/7, computed by hand: centre (p + z²/2n)/(1 + z²/n), half-width z·√(p(1−p)/n + z²/4n²)/(1 + z²/n)
    z, n, p = 1.959964, 7, 5 / 7
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert s["ci_low"] == pytest.approx(centre - half) and s["ci_high"] == pytest.approx(centre + half)
    assert (round(s["ci_low"], 3), round(s["ci_high"], 3)) == (0.359, 0.918)
    assert s["dismiss_reasons"] == [{"reason": "误判：引用客户原话", "count": 2}]
    assert sum(w["reviewed"] for w in s["weeks"]) == 7
    assert wilson(0, 0) == (0.0, 1.0)
    table = run("rules", "stats", "--db", str(db)).output
    assert "71.4%" in table and "35.9%–91.8%" in table


def test_spot_check_draw_rate_risk_and_determinism(db):
    cfg = load_config()
    con = store.open_reader(db)
    try:
        qcu = User("qc1", "qc")
        rows = q.sample(con, qcu, "2026-11-02", 0.25, 1, 48, 60)
        assert rows == q.sample(con, qcu, "2026-11-02", 0.25, 1, 48, 60)       # same day, same draw
        flagged = {r[0] for r in con.execute("SELECT DISTINCT conversation_id FROM findings").fetchall()}
        assert not flagged & {r["conversation_id"] for r in rows}
        per_agent = dict(con.execute(
            """SELECT first_agent_id, count(*) FROM conversations c WHERE day = '2026-11-02' AND first_agent_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.conversation_id = c.conversation_id) GROUP BY 1""").fetchall())
        for agent, n in per_agent.items():
            assert sum(1 for r in rows if r["agent_id"] == agent and r["why"] == "random") == math.ceil(n * 0.25)
            assert sum(1 for r in rows if r["agent_id"] == agent and r["why"] == "risk") <= 1
        for r in rows:
            if r["why"] == "risk":
                assert ((r["max_gap"] is not None and 48 <= r["max_gap"] < 60) or r["last_role"] == "customer"
                        or r["nm_label"] is not None)
        # classifier uncertainty: the inspection kept the messages scored in [0.5, threshold)
        near = con.execute("SELECT label, p, threshold FROM model_near_misses").fetchall()
        assert near and all(0.5 <= p < t for _, p, t in near)
        assert {l for l, _, _ in near} <= {"complaint", "bargain", "rude"}
        risky = q.sample(con, qcu, "2026-11-02", 0.0, 50, 48, 60)
        uncertain = con.execute("""SELECT DISTINCT n.conversation_id FROM model_near_misses n JOIN conversations c
                                   USING (conversation_id) WHERE c.day = '2026-11-02' AND NOT EXISTS
                                   (SELECT 1 FROM findings f WHERE f.conversation_id = n.conversation_id)""").fetchall()
        assert {c for (c,) in uncertain} <= {r["conversation_id"] for r in risky}
        # an agent's scope: their own conversations only
        mine = q.sample(con, User("a", "agent", agent_id="衣选:小雅"), "2026-11-02", 1.0, 0, 48, 60)
        assert mine and all(r["agent_id"] == "衣选:小雅" for r in mine)
    finally:
        con.close()
    assert cfg.review["sample_rate"] == 0.05


def test_user_add_cli(db):
    r = runner.invoke(app, ["user", "add", "lead2", "--role", "lead", "--db", str(db), "--password-stdin"], input="short\n")
    assert r.exit_code == 2 and "--team" in r.output
    r = runner.invoke(app, ["user", "add", "lead2", "--role", "lead", "--team", "衣选服饰", "--db", str(db), "--password-stdin"],
                      input="short\n")
    assert r.exit_code == 2 and "至少 8" in r.output
    r = runner.invoke(app, ["user", "add", "lead2", "--role", "lead", "--team", "衣选服饰", "--db", str(db), "--password-stdin"],
                      input="long-enough-pw\n")
    assert r.exit_code == 0
    u = Journal.open(db).login("lead2", "long-enough-pw")
    assert (u.role, u.team) == ("lead", "衣选服饰")
    stored = Journal.open(db).query("SELECT pw_hash FROM users WHERE name = 'lead2'")[0][0]
    assert stored.startswith("scrypt$") and "long-enough-pw" not in stored


def test_qc_web_refuses_a_missing_database(tmp_path):
    r = run("web", "--db", str(tmp_path / "nope.duckdb"))
    assert r.exit_code == 2 and "数据库文件不存在" in r.output
