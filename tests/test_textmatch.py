"""Phrase matching on characters, word-aware for short entries; pinned segmentations."""

import pytest

from qc.textmatch import match_texts, tokenizer


@pytest.mark.parametrize("text,tokens", [
    ("滚筒洗衣机很好用", ["滚筒洗衣机", "很", "好", "用"]),  # allow-list word loaded
    ("你给我滚", ["你", "给", "我", "滚"]),
    ("你有病吧", ["你", "有病", "吧"]),
    ("这个靠谱", ["这个", "靠谱"]),
    ("财源滚滚", ["财源滚滚"]),
])
def test_pinned_segmentation(text, tokens):
    assert tokenizer().lcut(text, HMM=False) == tokens


def forbidden(text):
    return [(r["phrase"], r["span_start"], r["span_end"]) for r in match_texts([text]) if r["lexicon"] == "forbidden"]


@pytest.mark.parametrize("text,expected", [
    ("你给我滚", [("滚", 3, 4)]),
    ("这款滚筒洗衣机很好用", []),
    ("祝您财源滚滚", []),
    ("这个焊机很靠谱", []),
    ("已经很低了，爱买不买", [("已经很低了", 0, 5), ("爱买不买", 6, 10)]),
    ("亲，页面上都写了，你自己看", [("页面上都写了", 2, 8), ("你自己看", 9, 13)]),
    ("ＯＫ，已经很低了", [("已经很低了", 3, 8)]),  # full-width text still matches, spans stay right
    ("有病毒吗", []),
    ("滚蛋！", [("滚蛋", 0, 2)]),  # 滚 alone is not a word here, but the longer entry 滚蛋 is
])
def test_forbidden_matching(text, expected):
    assert sorted(forbidden(text), key=lambda x: x[1]) == expected
