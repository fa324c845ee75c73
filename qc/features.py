"""Text features for the scikit-learn classifiers: words, character n-grams, lexicon cues.

Features of one message (`analyze`): the jieba words of the shared private tokenizer
(`w:` prefix), character 1–3-grams, and lexicon cue tokens (`@complaint`, `@complaint:故障`
for each lexicon phrase in the text), TF-IDF weighted. (No "no cue" token: in the corpus
the paraphrase families are cue-free by design, so such a token learnt "rude" and fired on
a lone 👌.)

Fitting uses scikit-learn's TfidfVectorizer with `analyze` as its analyzer. Prediction
cost is all in featurisation (the linear model is a sparse product), and a Python loop
that builds every n-gram string and looks it up in a dict caps a core at ~30k
messages/s. `CueTfidf.transform` therefore finds the fitted vocabulary's character
n-grams and lexicon phrases with one Aho-Corasick automaton (C, per message) and builds
the sparse matrix with numpy for the whole batch; only the words go through a dict.
tests/test_classify.py proves both paths give the same matrix.
"""

from __future__ import annotations

from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from . import segment
from .text import normalize

NGRAMS = (1, 2, 3)
SEP = "\n"   # joins a batch; never inside a vocabulary key (see CueTfidf._build)


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

    t = normalize(doc)
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
        state["_fast"] = None          # the automaton is rebuilt on first use after loading
        return state

    def _build(self):
        import ahocorasick

        vocab = self.vec_.vocabulary_
        words = {k[2:]: v for k, v in vocab.items() if k.startswith("w:")}
        payload: dict[str, list[int]] = {}
        for k, v in vocab.items():
            if len(k) <= max(NGRAMS) and SEP not in k:   # any string this short may be an n-gram
                payload.setdefault(k, []).append(v)
        for phrase, toks in self.cues_.items():
            ids = [vocab[t] for t in toks if t in vocab]
            payload.setdefault(phrase, []).extend(ids)
        keys = list(payload)
        lens = np.array([len(payload[k]) for k in keys], dtype=np.int64)
        flat = np.array([i for k in keys for i in payload[k]], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        auto = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for j, k in enumerate(keys):
            auto.add_word(k, j)
        auto.make_automaton()
        self._fast = (auto, words, lens, flat, starts)
        return self._fast

    def transform(self, texts):
        auto, words, lens, flat, starts = self._fast or self._build()
        n = len(texts)
        # The whole batch as one string, messages separated by a newline: no vocabulary key
        # contains one, so no automaton hit and no jieba word spans two messages, and both
        # the automaton and the segmenter run once, in C, with no Python per hit or word.
        norm = [normalize(t) for t in texts]
        big = SEP.join(norm)
        doc_start = np.zeros(n, dtype=np.int64)
        if n > 1:
            doc_start[1:] = np.cumsum(np.fromiter(map(len, norm), dtype=np.int64, count=n))[:-1] + np.arange(1, n)
        hits = np.fromiter(chain.from_iterable(auto.iter(big)), dtype=np.int64).reshape(-1, 2)
        k = hits[:, 1]
        k_doc = np.searchsorted(doc_start, hits[:, 0], side="right") - 1
        # expand each hit into its feature ids (an n-gram, and the cue tokens of a phrase)
        pl = lens[k]
        rep_doc = np.repeat(k_doc, pl)
        offs = np.arange(pl.sum()) - np.repeat(np.cumsum(pl) - pl, pl)
        cols = flat[np.repeat(starts[k], pl) + offs]
        toks = segment.cut(big)
        w = np.fromiter(map(words.get, toks, repeat(-1)), dtype=np.int64, count=len(toks))
        wlen = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
        w_doc = np.searchsorted(doc_start, np.cumsum(wlen) - wlen, side="right") - 1
        rows = np.concatenate([rep_doc, w_doc])
        cols = np.concatenate([cols, w])
        keep = cols >= 0
        X = sp.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])),
                          shape=(n, len(self.vec_.vocabulary_)))
        X.sum_duplicates()
        X.data = np.log(X.data) + 1.0                     # sublinear tf, as TfidfVectorizer
        X = X @ sp.diags(self.vec_.idf_)
        return l2_normalize(X, norm="l2", copy=False)

    def transform_reference(self, texts):
        """scikit-learn's own transform over `analyze` (tests compare it with `transform`)."""
        return self.vec_.transform(texts)
