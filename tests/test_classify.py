"""Classifiers: train and load from disk, clear errors, fallback, feedback from reviews."""

import json

import numpy as np
import pytest

from qc import classify, store
from qc.classify import ModelError, load_model, train
from qc.ingest import ingest_paths
from qc.inspect import inspect

from .conftest import write_jsonl

CUSTOMER = {
    "bargain": ["能便宜点吗", "再少点呗", "抹个零吧", "太贵了，便宜些", "别家才卖两百，能不能少", "包邮吗亲", "最低多少钱",
                "能优惠点不", "给个折扣呗", "再让点我就拍"],
    "complaint": ["收到就坏了", "发错颜色了", "少了一个配件", "用了两天就不出电了", "快递太慢了一周还没到", "退款怎么还没到账",
                  "衣服起球严重", "坚果发霉了", "屏幕裂了", "漏水了怎么办"],
    "logistics": ["什么时候发货", "发什么快递", "几天能到", "能发顺丰吗", "今天能发吗", "到北京要几天", "快递单号多少",
                  "可以到付吗", "周末发货吗", "从哪里发货"],
    "product_question": ["这个多少瓦", "L码适合多高", "能焊不锈钢吗", "是几级能效", "保质期多久", "材质是什么", "有几个颜色",
                         "带遥控器吗", "含税吗", "配件齐全吗"],
    "order_statement": ["已拍", "拍好了", "已付款", "下单了", "刚付了款", "拍下了亲", "已经付款了", "订单提交了", "付过了",
                        "买了两件"],
    "other": ["在吗", "你好", "谢谢", "好的", "嗯嗯", "知道了", "晚安", "辛苦了", "哈哈", "ok"],
}


@pytest.fixture
def tiny_corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    rows = []
    for label, texts in CUSTOMER.items():
        for i, t in enumerate(texts):
            rows.append({"text": t, "labels": [label], "split": "test" if i % 5 == 4 else "train", "family": label})
    write_jsonl(d / "customer_intents.jsonl", rows)
    return d


def test_train_writes_model_and_card_and_loads_offline(tiny_corpus, tmp_path):
    models = tmp_path / "models"
    meta = train("customer_intent", backend="sklearn", corpus_dir=tiny_corpus, out_dir=models, version="v1")
    d = models / "customer_intent" / "v1"
    assert (d / "model.joblib").exists() and (d / "README.md").exists()
    saved = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    assert saved["labels"] == classify.TASKS["customer_intent"]["labels"] and saved["data_sha256"] == meta["data_sha256"]
    assert set(saved["held_out"]["per_label"]["bargain"]) >= {"precision", "recall", "f1", "support"}
    card = (d / "README.md").read_text(encoding="utf-8")
    assert "Confusion matrix" in card and "macro-F1" in card
    m = load_model("customer_intent", models_dir=models)
    p = m.predict_proba(["能不能再便宜点", "收到发现坏了"])
    assert p.shape == (2, 6) and np.allclose(p.sum(axis=1) > 0, True)
    assert m.labels[int(p[0].argmax())] == "bargain"


def test_missing_and_incompatible_models_give_clear_errors(tmp_path, tiny_corpus):
    with pytest.raises(ModelError, match="没有训练好的模型"):
        load_model("agent_act", models_dir=tmp_path / "none")
    models = tmp_path / "models"
    train("customer_intent", backend="sklearn", corpus_dir=tiny_corpus, out_dir=models, version="v1")
    meta_p = models / "customer_intent" / "v1" / "meta.json"
    meta = json.loads(meta_p.read_text(encoding="utf-8"))
    meta["libraries"]["scikit-learn"] = "0.0.1"
    meta_p.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="重新训练"):
        load_model("customer_intent", models_dir=models)
    meta["libraries"]["scikit-learn"] = classify._versions()["scikit-learn"]
    meta["labels"] = ["a", "b"]
    meta_p.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="不兼容"):
        load_model("customer_intent", models_dir=models)


def test_inspection_falls_back_to_lexicons_and_says_so(tmp_path, chat_rows, monkeypatch):
    monkeypatch.setattr(classify, "MODELS_DIR", tmp_path / "no-models")
    con = store.connect(tmp_path / "f.duckdb")
    ingest_paths(con, [write_jsonl(tmp_path / "c.jsonl", chat_rows)])
    rep = inspect(con, all_=True)
    assert any("已退回词库" in n for n in rep.notes)
    assert con.execute("SELECT notes FROM inspect_runs").fetchone()[0].count("已退回词库") == 2


def _two_message_chat(tmp_path, cid, customer_text, agent, agent_text):
    """A database holding one customer message and the agent's answer."""
    con = store.connect(tmp_path / f"{cid}.duckdb")
    rows = [
        {"conversation_id": cid, "ts": "2026-11-03 10:00:00", "role": "customer", "text": customer_text},
        {"conversation_id": cid, "ts": "2026-11-03 10:00:10", "role": "agent", "agent_id": agent, "text": agent_text},
    ]
    ingest_paths(con, [write_jsonl(tmp_path / f"{cid}.jsonl", rows)])
    return con


def test_reviews_become_training_examples(tmp_path, tiny_corpus):
    con = _two_message_chat(tmp_path, "r1", "这双鞋怎么样", "衣选:小雅", "爱要不要，就这价")
    con.execute("""INSERT INTO findings VALUES ('f1', 'r1', 2, '衣选:小雅', 'default', DATE '2026-11-03', 'rude_tone', '1.0',
                   'medium', '态度类', '语气', NULL, NULL, '{}', 'x', 'model', 0.95, 1, now())""")
    con.execute("INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at) VALUES ('f1', 'confirmed', '质检:王', '确实不耐烦', now())")
    ex = classify.review_examples(con, "agent_act")
    assert ex == [{"text": "爱要不要，就这价", "labels": ["rude"], "source": "review:confirmed"}]
    con.execute("INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at) VALUES ('f1', 'appeal_upheld', '组长:李', '申诉成立', now() + INTERVAL 1 HOUR)")
    assert classify.review_examples(con, "agent_act")[0]["labels"] == ["other"]
    # and `train --with-reviews` counts them in the card
    models = tmp_path / "models"
    meta = train("customer_intent", backend="sklearn", corpus_dir=tiny_corpus, out_dir=models, version="v1")
    assert meta["review_examples"] == 0
    con.execute("""INSERT INTO findings VALUES ('f2', 'r1', 1, '衣选:小雅', 'default', DATE '2026-11-03', 'missing_apology', '1.0',
                   'high', '态度类', NULL, NULL, NULL, '{}', 'x', 'rule', NULL, 1, now())""")
    con.execute("INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at) VALUES ('f2', 'confirmed', '质检:王', '', now())")
    con.execute("""INSERT INTO findings VALUES ('f3', 'r1', 1, '衣选:小雅', 'default', DATE '2026-11-03', 'bargain_followup_late', '1.0',
                   'medium', '能力类', NULL, NULL, NULL, '{"bargain_seq": 1}', 'x', 'rule', NULL, 1, now())""")
    con.execute("INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at) VALUES ('f3', 'dismissed', '质检:王', '电话追过单了', now())")
    # the dismissed follow-up says nothing about the customer's text: skipped, not an `other` example
    assert classify.review_examples(con, "customer_intent") == [
        {"text": "这双鞋怎么样", "labels": ["complaint"], "source": "review:confirmed"}]
    meta2 = train("customer_intent", backend="sklearn", con=con, with_reviews=True, corpus_dir=tiny_corpus,
                  out_dir=models, version="v2")
    assert meta2["review_examples"] == 1 and meta2["previous"]["version"] == "v1"
    assert "Change from the previous version" in (models / "customer_intent" / "v2" / "README.md").read_text(encoding="utf-8")


def test_shipped_models_catch_a_long_complaint_without_lexicon_cue(tmp_path):
    """Regression: long customer messages once looked 'emoji-only' to the batch (their
    comparison key is not computed) and were never classified."""
    # the models ship in models/: a checkout without them is broken, not a reason to skip
    assert classify.latest_meta("customer_intent") is not None, "no customer_intent model in models/ (qc train)"
    rows = [
        {"conversation_id": "lc1", "ts": "2026-11-05 10:00:00", "role": "customer", "shop_id": "大焊五金旗舰店",
         "text": "焊机刚焊了十来分钟就自己停了，面板一直亮黄灯，这到底是什么情况啊"},
        {"conversation_id": "lc1", "ts": "2026-11-05 10:00:20", "role": "agent", "agent_id": "大焊:小李",
         "text": "您把机器背面的铭牌拍给我看看"},
    ]
    con = store.connect(tmp_path / "lc.duckdb")
    ingest_paths(con, [write_jsonl(tmp_path / "lc.jsonl", rows)])
    inspect(con, all_=True)
    got = con.execute("SELECT message_seq, explanation FROM findings WHERE rule_id = 'missing_apology'").fetchall()
    assert len(got) == 1 and got[0][0] == 1 and "customer_intent@" in got[0][1]


def test_a_not_a_complaint_dismissal_teaches_the_intent_model(tmp_path):
    # missing_apology: a dismissal says nothing about the customer's text in general (the agent
    # may have apologised in words no lexicon holds), but 误判：顾客没有投诉 does — the message
    # becomes an in-domain `other` example, the kind the template-trained model lacks.
    con = _two_message_chat(tmp_path, "d1", "没看到退款，只有退货。", "美家:小周", "一样的，点击申请退货")
    con.execute("""INSERT INTO findings VALUES ('m1', 'd1', 1, '美家:小周', 'default', DATE '2026-11-03', 'missing_apology', '2.3',
                   'medium', '态度类', NULL, NULL, NULL, '{}', 'x', 'model', 0.99, 1, now())""")
    con.execute("INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at) VALUES ('m1', 'dismissed', '质检:王', '已按流程处理', now())")
    assert classify.review_examples(con, "customer_intent") == []
    con.execute("INSERT INTO reviews (finding_id, decision, reviewer, reason, decided_at) VALUES "
                "('m1', 'dismissed', '质检:王', '误判：顾客没有投诉 只是在问怎么操作', now() + INTERVAL 1 MINUTE)")
    assert classify.review_examples(con, "customer_intent") == [
        {"text": "没看到退款，只有退货。", "labels": ["other"], "source": "review:dismissed"}]
