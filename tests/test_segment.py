"""rjieba may stand in for jieba only where it cuts exactly the same tokens."""

import json

import pytest

from qc import segment
from qc.paths import ROOT


def texts():
    out = list(segment.CHECK)
    for p in (ROOT / "data" / "sample" / "chats.jsonl", ROOT / "data" / "corpus" / "customer_intents.jsonl",
              ROOT / "data" / "corpus" / "agent_acts.jsonl"):
        if p.exists():
            out += [json.loads(l)["text"] for l in p.read_text(encoding="utf-8").splitlines() if l.strip()]
    return out


def test_rjieba_cuts_like_jieba_with_our_dictionary():
    pytest.importorskip("rjieba")
    assert segment.backend() == "rjieba"
    ts = texts()
    assert len(ts) > 10
    diffs = [(t, segment._rjieba().cut(t, False), segment.cut_jieba(t)) for t in ts
             if segment._rjieba().cut(t, False) != segment.cut_jieba(t)]
    assert diffs == [], diffs[:5]


def test_lexicon_words_stay_whole():
    assert "爱买不买" in segment.cut("已经很低了，爱买不买")
    assert "滚筒洗衣机" in segment.cut("这款滚筒洗衣机很好用")
