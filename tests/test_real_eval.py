"""`qc eval --real FILE --labels DIR`: the text rules scored against blind labels (ids and
seqs only), per labeller, with the signal that saw each missing_apology complaint. The chats
here are ours, in the shape of the JDDC conversion (tools/real/jddc.py)."""

import json

from typer.testing import CliRunner

from qc.cli import app
from qc.real_eval import RealScore, score

from .conftest import write_jsonl

runner = CliRunner()


def _conv(cid, turns, t0=1793671200):
    return [{"conversation_id": cid, "seq": i, "ts": t0 + 20 * i, "role": role, "text": text, "shop_id": "jd",
             "customer_id": "buyer-" + cid, **({"agent_id": "jd:客服"} if role == "agent" else {})}
            for i, (role, text) in enumerate(turns, start=1)]


CHATS = (
    # a complaint (lexicon cue 没收到) and no apology after it: a true missing_apology
    _conv("jd-a", [("customer", "快递显示签收了，我根本没收到"), ("agent", "您提供一下订单号"), ("customer", "[订单x]"),
                   ("agent", "已经帮您联系站点了")])
    # a complaint answered with an apology: no finding
    + _conv("jd-b", [("customer", "收到的杯子碎了"), ("agent", "非常抱歉给您添麻烦了，马上给您补发")])
    # no complaint at all
    + _conv("jd-c", [("customer", "这款有白色吗"), ("agent", "有的亲")])
)


def _labels(tmp_path, b_sees_complaint_in_c=False):
    d = tmp_path / "labels"
    d.mkdir()
    base = {"apologies": [], "rude": [], "bargaining": [], "emoji_only": [], "repeats": [], "unanswered": False, "note": ""}
    a = [{"conversation_id": "jd-a", **base, "complaints": [1]},
         {"conversation_id": "jd-b", **base, "complaints": [1], "apologies": [2]},
         {"conversation_id": "jd-c", **base, "complaints": []}]
    b = json.loads(json.dumps(a))
    if b_sees_complaint_in_c:
        b[2]["complaints"] = [1]
    for who, rows in (("A", a), ("B", b)):
        (d / f"labeller_{who}.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                                                 encoding="utf-8")
    return d


def test_real_eval_scores_each_labeller_and_the_signal(tmp_path):
    chats = write_jsonl(tmp_path / "chats.jsonl", CHATS)
    r = runner.invoke(app, ["eval", "--real", str(chats), "--labels", str(_labels(tmp_path, True)), "--markdown"])
    assert r.exit_code == 0, r.output
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): [c.strip() for c in line.strip("|").split("|")]
            for line in r.output.splitlines() if line.startswith("| missing_apology")}
    # labeller A: 1 finding, true; 1 positive, found
    assert rows[("missing_apology", "A")][2:] == ["1", "1", "1.00", "1", "1", "1.00"]
    # labeller B also saw an (unapologised) complaint in jd-c: a miss, recall 1 of 2
    assert rows[("missing_apology", "B")][2:] == ["1", "1", "1.00", "2", "1", "0.50"]
    r = runner.invoke(app, ["eval", "--real", str(chats), "--labels", str(tmp_path / "labels")])
    assert r.exit_code == 0 and "按投诉信号" in r.output and "1 / 1" in r.output


def test_score_counts_false_alarms_by_signal():
    findings = [{"conversation_id": "x", "rule_id": "missing_apology", "message_seq": 1, "evidence": {"signal": "model"}},
                {"conversation_id": "y", "rule_id": "missing_apology", "message_seq": 3, "evidence": {"signal": "lexicon"}}]
    labels = {"x": {"complaints": [], "apologies": []}, "y": {"complaints": [3], "apologies": []}}
    s: RealScore = score(findings, labels)["missing_apology"]
    assert (s.findings, s.tp, s.positives, s.found) == (2, 1, 1, 1)
    assert s.by_signal == {"model": [1, 0], "lexicon": [1, 1]}
    assert s.false_alarms == [("x", 1, "")]


def test_real_eval_needs_both_paths(tmp_path):
    r = runner.invoke(app, ["eval", "--real", str(tmp_path / "nope.jsonl")])
    assert r.exit_code != 0 and "--labels" in r.output and "Traceback" not in r.output
