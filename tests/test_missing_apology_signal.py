"""missing_apology findings say which signal saw the complaint, and the intent model alone is
one severity step lower (on blind-labelled real chats: 34 of 65 model-only findings true, 95 of
109 with a lexicon cue)."""

import json

from qc.ingest import ingest_paths
from qc.inspect import inspect

from .conftest import write_jsonl


def _chat(cid, complaint, t0=1793671200):
    return [
        {"conversation_id": cid, "ts": t0, "role": "customer", "customer_id": "buyer-" + cid,
         "shop_id": "大焊五金旗舰店", "queue": "aftersales", "text": complaint},
        {"conversation_id": cid, "ts": t0 + 20, "role": "agent", "agent_id": "大焊:小李",
         "shop_id": "大焊五金旗舰店", "queue": "aftersales", "text": "您拍个照片发过来，我登记一下"},
    ]


def test_model_only_complaint_is_medium_and_says_so(con, tmp_path):
    rows = (_chat("lex", "收到的焊机外壳摔坏了")                 # 摔坏: complaint.txt
            + _chat("pat", "为什么我的焊机总是启动失败")            # complaint_patterns.txt
            + _chat("model", "收到货发现外壳瘪了一块"))        # no cue: the intent model
    ingest_paths(con, [write_jsonl(tmp_path / "c.jsonl", rows)])
    inspect(con, all_=True, use_models=True)
    got = {c: (sev, json.loads(ev), expl) for c, sev, ev, expl in con.execute(
        "SELECT conversation_id, severity, evidence, explanation FROM findings WHERE rule_id = 'missing_apology'").fetchall()}
    assert got["lex"][0] == "high" and got["lex"][1]["signal"] == "lexicon"
    assert got["pat"][0] == "high" and got["pat"][1]["signal"] == "pattern"
    assert got["pat"][1]["complaint_pattern"] == "为什么我的焊机总是"
    assert got["model"][0] == "medium" and got["model"][1]["signal"] == "model"
    assert "仅模型判断" in got["model"][2] and got["model"][1]["model_p_complaint"] >= 0.85
    # the decision trace the console and `qc explain` show names what the finding rests on
    from qc import findings

    traces = {f.conversation_id: f.trace["sources"] for f in findings.query(con, findings.Filter(rule="missing_apology"))}
    assert {"lexicon": "lexicons/complaint_patterns.txt", "pattern": "为什么我的焊机总是"} in traces["pat"]
    assert any(s.get("model", "").startswith("customer_intent@") and s.get("p", 0) >= 0.85 for s in traces["model"])
    assert not any(s.get("model", "").startswith("customer_intent@") for s in traces["lex"])
