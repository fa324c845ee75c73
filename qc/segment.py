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


def _cache_file():
    """Where the rjieba set-up (word frequencies copied from jieba, and whether the check
    list cuts alike) is kept between runs: loading jieba's dictionary only to read those
    costs ~0.55 s a run. Keyed by the lexicons' hashes and both libraries' versions."""
    import hashlib
    import os
    from importlib.metadata import version
    from pathlib import Path

    key = "|".join([lexicon.load(n).sha for n in ("forbidden", "allowlist") + WORD_LEXICONS]
                   + [version("jieba"), version("rjieba"), "\n".join(CHECK)])
    root = Path(os.environ.get("QC_CACHE") or Path.home() / ".cache" / "qc")
    return root / f"rjieba-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _rjieba_setup() -> dict | None:
    import json

    try:
        f = _cache_file()
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    jt = _jieba()
    import rjieba

    words = {}
    for name in ("forbidden", "allowlist") + WORD_LEXICONS:
        for e in lexicon.load(name).entries:
            if len(e.phrase) >= 2 and e.phrase not in words:
                words[e.phrase] = int(jt.FREQ.get(e.phrase, 1))
    rj = rjieba.Jieba()
    for w, fq in words.items():
        rj.add_word(w, fq, None)
    setup = {"words": list(words.items()), "agrees": all(rj.cut(t, False) == jt.lcut(t, HMM=False) for t in CHECK)}
    try:
        f.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(".tmp")
        tmp.write_text(json.dumps(setup, ensure_ascii=False), encoding="utf-8")
        tmp.replace(f)
    except OSError:
        pass        # a read-only home: no cache, same result
    return setup


@lru_cache(maxsize=1)
def _rjieba():
    """A private rjieba instance with the same extra words and frequencies, or None when it
    is not installed or does not cut the check list like jieba."""
    try:
        import rjieba
    except ImportError:
        return None
    setup = _rjieba_setup()
    if not setup["agrees"]:
        return None
    # The instance rjieba builds on import (its module-level cut is bound to it): nothing else
    # in a qc process cuts with it, and a second Jieba() loaded the 350k-word dictionary again
    # (~0.08 s of every `qc inspect`). Private to this process all the same.
    default = getattr(rjieba.cut, "__self__", None)
    rj = default if isinstance(default, rjieba.Jieba) else rjieba.Jieba()
    for w, fq in setup["words"]:
        rj.add_word(w, int(fq), None)
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
