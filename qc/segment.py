"""Word segmentation for the classifiers: one private tokenizer, loaded with the lexicon words.

jieba is the reference. rjieba (the Rust port) is used when installed *and* it cuts a
built-in check list exactly like jieba with our dictionary; otherwise jieba. Both run with
HMM off (new-word guessing off): deterministic, and the same on both backends.
tests/test_segment.py proves the two agree on real chat text.
"""

from __future__ import annotations

from functools import lru_cache

from . import lexicon
from .textmatch import new_tokenizer

# Lexicons whose words must stay whole (and so are added to the private dictionary).
WORD_LEXICONS = ("forbidden", "allowlist", "apology", "soothing", "complaint", "bargain")


@lru_cache(maxsize=1)
def _jieba():
    # Its own private Tokenizer, built like qc.textmatch's (same words, same order) plus the
    # other lexicons' words: adding words to textmatch's would change its word boundaries
    # for every later inspection in the same process.
    return new_tokenizer(WORD_LEXICONS)

CHECK = [
    "滚筒洗衣机很好用", "你有病吧", "这个焊机很靠谱", "已经很低了，爱买不买", "收到的坚果发霉了，怎么处理",
    "亲，非常抱歉给您带来不便", "ZX7-250焊机能焊不锈钢吗？", "能便宜点吗，别家才卖299", "羽绒服L码还有货吗",
    "用了两天就不出电了", "你自己不会看详情页吗", "今天下单明天发货哦[微笑]", "在吗在吗", "空调不制冷了！！",
]


@lru_cache(maxsize=1)
def _rjieba():
    """A private rjieba instance with the same extra words and frequencies, or None."""
    try:
        import rjieba
    except ImportError:
        return None
    jt = _jieba()
    rj = rjieba.Jieba()
    for name in ("forbidden", "allowlist") + WORD_LEXICONS:
        for e in lexicon.load(name).entries:
            if len(e.phrase) >= 2:
                rj.add_word(e.phrase, int(jt.FREQ.get(e.phrase, 1)), None)
    for s in CHECK:
        if rj.cut(s, False) != jt.lcut(s, HMM=False):
            return None
    return rj


def backend() -> str:
    return "rjieba" if _rjieba() is not None else "jieba"


def cut(text: str) -> list[str]:
    rj = _rjieba()
    return rj.cut(text, False) if rj is not None else _jieba().lcut(text, HMM=False)


def cut_many(texts: list[str]) -> list[list[str]]:
    rj = _rjieba()
    if rj is not None:
        c = rj.cut
        return [c(t, False) for t in texts]
    jt = _jieba()
    return [jt.lcut(t, HMM=False) for t in texts]


def cut_jieba(text: str) -> list[str]:
    return _jieba().lcut(text, HMM=False)
