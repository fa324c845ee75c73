"""The free-written messages (data/corpus/external/*.written.jsonl, tools/corpus/written.py):
the committed rows keep the builder's promises, and a model card scores them per source."""

import json

from qc import classify
from qc.paths import CORPUS_DIR
from qc.text import normalize
from tools.corpus import written

from .conftest import write_jsonl
from .test_classify import CUSTOMER


def _rows(task):
    path = CORPUS_DIR / "external" / f"{task}.written.jsonl"
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def test_committed_written_rows_are_valid_new_and_held_out_by_writer():
    for task in ("customer_intent", "agent_act"):
        rows = _rows(task)
        assert len(rows) > 500
        labels = set(classify.TASKS[task]["labels"])
        templates = {normalize(json.loads(l)["text"]) for l in
                     (CORPUS_DIR / classify.TASKS[task]["file"]).read_text(encoding="utf-8").splitlines() if l.strip()}
        seen = set()
        for r in rows:
            assert r["source"] == "written" and set(r["labels"]) <= labels and r["labels"]
            assert "other" not in r["labels"] or r["labels"] == ["other"]
            writer = r["family"].split(":")[1]
            assert r["split"] == ("test" if writer in written.TEST_WRITERS else "train")
            key = normalize(r["text"])
            assert key not in templates and key not in seen
            seen.add(key)
        # one whole writer held out, and both splits present
        assert {r["split"] for r in rows} == {"train", "test"}
    complaints = [r for r in _rows("customer_intent") if "complaint" in r["labels"]]
    closings = [r for r in _rows("customer_intent") if r["text"].startswith("没有了")]
    assert len(complaints) > 1000 and closings and all("complaint" not in r["labels"] for r in closings)


def test_builder_names_the_bad_line_and_drops_template_sentences(tmp_path, capsys):
    src = tmp_path / "w"
    src.mkdir()
    template = json.loads((CORPUS_DIR / "customer_intents.jsonl").read_text(encoding="utf-8").splitlines()[0])["text"]
    write_jsonl(src / "w1.jsonl", [
        {"text": "快递显示签收了 我根本没拿到", "labels": ["complaint", "logistics"], "situation": "Shows Delivered"},
        {"text": "没有了 谢谢亲", "labels": ["other", "complaint"], "situation": "closing"},   # other is exclusive
        {"text": template, "labels": ["bargain"], "situation": "copy"},
        {"text": "快递显示签收了 我根本没拿到", "labels": ["complaint"], "situation": "dup"},
    ])
    out = written.build(src)
    rows = out["customer_intent"]
    assert [r["text"] for r in rows] == ["快递显示签收了 我根本没拿到"]
    assert rows[0]["family"] == "written:w1:shows delivered" and rows[0]["split"] == "train"
    assert f"{src / 'w1.jsonl'}:2: labels" in capsys.readouterr().err


def test_card_scores_each_non_template_source_per_label(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "external").mkdir(parents=True)
    rows = [{"text": t, "labels": [l], "split": "train", "family": l} for l, ts in CUSTOMER.items() for t in ts]
    write_jsonl(corpus / "customer_intents.jsonl", rows)
    write_jsonl(corpus / "external" / "customer_intent.written.jsonl", [
        {"text": "等了五天了还没发货", "labels": ["complaint", "logistics"], "split": "test", "family": "written:w4:late",
         "source": "written"},
        {"text": "好的谢谢亲", "labels": ["other"], "split": "test", "family": "written:w4:thanks", "source": "written"},
        {"text": "再便宜点呗老板", "labels": ["bargain"], "split": "train", "family": "written:w1:b", "source": "written"},
    ])
    meta = classify.train("customer_intent", backend="sklearn", corpus_dir=corpus, out_dir=tmp_path / "m", version="v")
    ext = meta["external_held_out"]["written"]
    assert ext["examples"] == 2 and ext["labels"]["complaint"]["support"] == 1
    assert meta["train_sources"] == {"templates": 60, "written": 1}
    card = (tmp_path / "m" / "customer_intent" / "v" / "README.md").read_text(encoding="utf-8")
    assert "## Held-out non-template text: 2 written messages" in card
    assert "free-written buyer/agent chat messages" in card
