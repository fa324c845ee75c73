"""Text features for the scikit-learn classifiers: words, character n-grams, lexicon cues.

Features of one message (`analyze`): the jieba words of the shared private tokenizer
(`w:` prefix), character 1–3-grams, and lexicon cue tokens (`@complaint`, `@complaint:故障`
for each lexicon phrase in the text), TF-IDF weighted. (No "no cue" token: in the corpus
the paraphrase families are cue-free by design, so such a token learnt "rude" and fired on
a lone 👌.)

Fitting uses scikit-learn's TfidfVectorizer with `analyze` as its analyzer. Prediction
cost is all in featurisation (the linear model is a sparse product), and a Python loop
that builds every n-gram string and looks it up in a dict caps a core at ~30k
messages/s. `CueTfidf.transform` therefore works on the whole batch joined into one
string: character n-grams are packed code points (3 x 21 bits in an int64) looked up in the
fitted vocabulary with numpy `searchsorted`; words come from one segmenter call and one
C-level `map(dict.get)`; lexicon phrases from one Aho-Corasick pass (sparse hits).
tests/test_features.py proves both paths give the same matrix.
"""

from __future__ import annotations

from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from . import segment
from .text import _FULLWIDTH, normalize

NGRAMS = (1, 2, 3)
SEP = "\n"   # joins a batch in the fast transform; `fnorm` turns it into a space in every text
_BITS = 21    # a code point fits in 21 bits: an n-gram of up to 3 characters packs into an int64


# qc.text.normalize's full-width table plus newline -> space (fnorm without the lower()).
_FNORM_TABLE = {**_FULLWIDTH, ord(SEP): ord(" ")}


def fnorm(doc: str) -> str:
    """Feature normalisation: qc.text.normalize, and newlines as spaces (so a newline can
    separate the messages of a batch without ever being part of one)."""
    return normalize(doc or "").replace(SEP, " ")


def _cue_tokens() -> dict[str, list[str]]:
    """phrase -> its cue tokens, from the lexicons the rules match (qc.textmatch.MATCHED)."""
    from .textmatch import matcher

    out: dict[str, list[str]] = {}
    for name, e in matcher().entries:
        cat = e.fields.get("category") or e.fields.get("kind") or ""
        out.setdefault(e.phrase, []).extend([f"@{name}", f"@{name}:{cat}"])
    return out


def analyze(doc: str) -> list[str]:
    """The reference featuriser (used for fitting; readable, slow)."""
    from .textmatch import matcher

    t = fnorm(doc)
    out = ["w:" + w for w in segment.cut(t) if not w.isspace()]
    for n in NGRAMS:
        out += [t[i:i + n] for i in range(len(t) - n + 1)]
    m = matcher()
    cues = []
    for _end, eid in m.automaton.iter(t):
        for i in (eid, *m.extra.get(eid, ())):
            name, e = m.entries[i]
            cat = e.fields.get("category") or e.fields.get("kind") or ""
            cues += [f"@{name}", f"@{name}:{cat}"]
    return out + cues


def _codepoints(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def _pack(cp: np.ndarray, n: int) -> np.ndarray:
    """Keys of all n-grams of a code-point array: n characters packed into one int64."""
    m = len(cp) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    key = cp[:m].copy()
    for j in range(1, n):
        key = (key << _BITS) | cp[j:j + m]
    return key


class CueTfidf(BaseEstimator, TransformerMixin):
    """TF-IDF over `analyze`, with a fast batch transform (see module docstring)."""

    def __init__(self, min_df: int = 2):
        self.min_df = min_df

    def fit(self, texts, y=None):
        self.vec_ = TfidfVectorizer(analyzer=analyze, min_df=self.min_df, sublinear_tf=True)
        self.vec_.fit(texts)
        # Snapshot of the lexicon phrases at fit time: the model stays self-contained even
        # when a lexicon is edited later (retrain to pick the edit up).
        self.cues_ = _cue_tokens()
        self._fast = None
        return self

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_fast"] = None          # rebuilt on first use after loading
        return state

    def _build(self):
        import ahocorasick

        vocab = self.vec_.vocabulary_
        words = {k[2:]: v for k, v in vocab.items() if k.startswith("w:")}
        # character n-grams: per length, sorted packed keys and their feature ids
        ngrams = {}
        for n in NGRAMS:
            items = [(int(_pack(_codepoints(k), n)[0]), v) for k, v in vocab.items() if len(k) == n]
            items.sort()
            ngrams[n] = (np.array([k for k, _ in items], dtype=np.int64), np.array([v for _, v in items], dtype=np.int64))
        # lexicon phrases -> the feature ids of their cue tokens (sparse: ~1 hit a message)
        phrases = [(p, [vocab[t] for t in toks if t in vocab]) for p, toks in self.cues_.items()]
        phrases = [(p, ids) for p, ids in phrases if ids]
        auto = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for j, (p, _ids) in enumerate(phrases):
            auto.add_word(p, j)
        if phrases:
            auto.make_automaton()
        self._fast = (words, ngrams, auto if phrases else None, [ids for _, ids in phrases])
        return self._fast

    def transform(self, texts):
        words, ngrams, auto, cue_ids = self._fast or self._build()
        n = len(texts)
        # The whole batch as one string, messages separated by SEP (which fnorm removed from
        # every message): n-grams are packed code points looked up with numpy, the words come
        # from one segmenter call — no Python per n-gram, per word or per message beyond fnorm.
        norm = [(t or "").translate(_FNORM_TABLE) for t in texts]
        lens = np.fromiter(map(len, norm), dtype=np.int64, count=n)
        big = SEP.join(norm)
        low = big.lower()                       # once for the batch, not once per message
        if len(low) == len(big):
            big = low
        else:                                   # a character whose lower case is longer (İ)
            norm = [fnorm(t) for t in texts]
            lens = np.fromiter(map(len, norm), dtype=np.int64, count=n)
            big = SEP.join(norm)
        cp = _codepoints(big)
        pos_doc = np.repeat(np.arange(n), lens + 1)[:len(cp)]
        sep_cum = np.concatenate([[0], np.cumsum(cp == ord(SEP))])
        rows, cols = [], []
        for k in NGRAMS:
            keys = _pack(cp, k)
            if not len(keys):
                continue
            clean = (sep_cum[k:] - sep_cum[:-k]) == 0          # no separator inside the window
            vkeys, vids = ngrams[k]
            if not len(vkeys):
                continue
            at = np.minimum(np.searchsorted(vkeys, keys), len(vkeys) - 1)
            hit = clean & (vkeys[at] == keys)
            rows.append(pos_doc[:len(keys)][hit])
            cols.append(vids[at[hit]])
        toks = segment.cut(big)
        w = np.fromiter(map(words.get, toks, repeat(-1)), dtype=np.int64, count=len(toks))
        wlen = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
        wstart = np.cumsum(wlen) - wlen
        keep = w >= 0
        rows.append(pos_doc[wstart[keep]])
        cols.append(w[keep])
        if auto is not None:
            hits = np.fromiter(chain.from_iterable(auto.iter(big)), dtype=np.int64).reshape(-1, 2)
            if len(hits):
                ids = [cue_ids[j] for j in hits[:, 1]]
                rows.append(np.repeat(pos_doc[hits[:, 0]], [len(x) for x in ids]))
                cols.append(np.fromiter(chain.from_iterable(ids), dtype=np.int64))
        X = sp.csr_matrix((np.ones(sum(len(r) for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, len(self.vec_.vocabulary_)))
        X.sum_duplicates()
        X.data = np.log(X.data) + 1.0                     # sublinear tf, as TfidfVectorizer
        X = X @ sp.diags(self.vec_.idf_)
        return l2_normalize(X, norm="l2", copy=False)

    def transform_reference(self, texts):
        """scikit-learn's own transform over `analyze` (tests compare it with `transform`)."""
        return self.vec_.transform(texts)
