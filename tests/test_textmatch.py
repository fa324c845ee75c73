"""Phrase matching on characters, word-aware for short entries; pinned segmentations."""

import numpy as np
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


def _real_texts():
    """Every chat text we hold: the bundled sample, the rule cases and the classifier corpus."""
    import json

    import yaml

    from qc.paths import ROOT
    from qc.text import normalize

    texts = [json.loads(l)["text"] for l in (ROOT / "data" / "sample" / "chats.jsonl").read_text(encoding="utf-8").splitlines()]
    for f in sorted((ROOT / "tests" / "rule_cases").glob("*.yaml")):
        for c in yaml.safe_load(f.read_text(encoding="utf-8"))["cases"]:
            texts += [m["text"] for m in c["conversation"]["messages"]]
    for name in ("customer_intents.jsonl", "agent_acts.jsonl"):
        texts += [json.loads(l)["text"] for l in (ROOT / "data" / "corpus" / name).read_text(encoding="utf-8").splitlines()]
    return sorted({normalize(t) for t in texts if t})


def test_rjieba_word_boundaries_equal_jieba_on_all_our_texts():
    pytest.importorskip("rjieba")
    from qc.textmatch import _boundary_cut

    cut = _boundary_cut()
    tok = tokenizer()
    texts = _real_texts()
    assert len(texts) > 14000
    diff = [t for t in texts if cut(t) != tok.lcut(t, HMM=False)]
    assert diff == []


def test_classifier_segmenter_does_not_change_the_boundary_tokenizer():
    from qc import segment

    before = tokenizer().lcut("麻烦您耐心等一下，不好意思", HMM=False)
    segment._jieba()
    assert tokenizer().lcut("麻烦您耐心等一下，不好意思", HMM=False) == before
    assert segment._jieba() is not tokenizer()


def test_flag_only_lexicons_flag_in_sql_exactly_what_the_scan_would_find():
    # `question` is flagged with one RE2 alternation in SQL instead of the Aho-Corasick scan
    # (two in three hits were ？/吗/么): the flag must be the same on every message
    import duckdb

    from qc.text import normalize
    from qc.textmatch import FLAG_ONLY, matcher

    texts = ["这个多少钱？", "什么时候发货", "好的谢谢", "能不能便宜点", "吗", "你们怎么回事", "亲 在的呢", "发货了",
             "请问一下", "咋整", "Why?", "为啥还没到", "到了", "[微笑]", "", "几天能到吗？？", "您好，欢迎光临"]
    norm = [normalize(t) for t in texts]
    m = matcher()
    assert "question" in FLAG_ONLY
    by_scan = {i for i, t in enumerate(norm) for _e, eid in m.automaton.iter(t)
               if "question" in {m.entries[j][0] for j in (eid, *m.extra.get(eid, ()))}}
    con = duckdb.connect()
    flags = [r[0] for r in con.execute("SELECT coalesce(regexp_matches(t, $re), false) FROM unnest($ts) AS u(t)",
                                       {"re": m.flag_pattern("question"), "ts": norm}).fetchall()]
    assert {i for i, f in enumerate(flags) if f} == by_scan
    assert by_scan >= {0, 1, 3, 4, 5, 8, 9, 10, 11, 15} and 2 not in by_scan and 6 in by_scan   # 呢 is a question cue
    # and the inspection's scan no longer yields them
    hits = m.scan(np.arange(len(norm)), norm)
    assert not [e for e in hits.column("entry").to_pylist() if m.entries[e][0] in FLAG_ONLY]


def test_automaton_finds_every_occurrence_like_a_plain_search_on_all_our_texts():
    # The fast path (ahocorasick_rs over the whole batch joined) beside its reference: for
    # every phrase, every start where str.find sees it. Overlaps (抱歉 inside 非常抱歉), emoji
    # and full-width text count in characters, so spans stay right.
    from qc.textmatch import matcher

    m = matcher()
    texts = _real_texts()[:3000] + ["😊非常抱歉给您添麻烦了😊", "亲，非常非常抱歉", "滚滚滚", "ＯＫ已经很低了"]
    big = "\n".join(texts)
    got = sorted(m.automaton.iter(big))
    want = []
    for phrase, value in zip(m.automaton.phrases, m.automaton.values.tolist()):
        i = big.find(phrase)
        while i >= 0:
            want.append((i + len(phrase) - 1, value))
            i = big.find(phrase, i + 1)
    assert len(got) > 2000 and got == sorted(want)


def test_scan_cites_the_message_and_span_of_each_hit():
    from qc.textmatch import matcher

    m = matcher()
    texts = ["好的", "😊非常抱歉，给您添麻烦了", "", "便宜点吧"]
    hits = m.scan(np.array([10, 11, 12, 13]), texts).to_pylist()
    found = {(h["row"], m.entries[h["entry"]][1].phrase, h["span_end"]) for h in hits}
    assert (11, "非常抱歉", 5) in found and (11, "抱歉", 5) in found and (11, "给您添麻烦了", 12) in found
    assert (13, "便宜点", 3) in found
    assert not {r for r, _, _ in found} & {10, 12}


def test_the_utf8_scan_gives_the_str_scan_on_all_our_texts():
    # The inspection scans Arrow's UTF-8 bytes (qc/inspect.py start_match) and maps byte
    # offsets back to characters: the same rows, entries and spans as the str scan, with
    # 1-, 2-, 3- and 4-byte characters before a hit (ASCII, é, 中, 😊).
    from qc.textmatch import matcher

    m = matcher()
    texts = _real_texts()[:3000] + ["😊😊非常抱歉给您添麻烦了", "café 亲，非常非常抱歉", "ok滚滚滚", "", "𠮷野家 便宜点吧"]
    lens = np.fromiter(map(len, texts), dtype=np.int64)
    rows = np.arange(len(texts)) + 100
    joined = "\n".join(texts)
    by_str = m.scan_joined(rows, lens, joined).to_pylist()
    by_bytes = m.scan_joined(rows, lens, joined.encode("utf-8")).to_pylist()
    assert len(by_str) > 1000 and by_bytes == by_str


def test_utf8_chars_counts_characters_of_every_width():
    from qc.textmatch import utf8_chars

    text = "a中é😊b\n中文😊😊x"
    data = text.encode("utf-8")
    cuts = [i for i in range(len(text) + 1)]
    byte_offsets = [len(text[:i].encode("utf-8")) for i in cuts]
    assert utf8_chars(data, np.array(byte_offsets)).tolist() == cuts
