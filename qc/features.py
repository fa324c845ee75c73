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
(`qc.fastlinear.featurize`, shared with the scikit-learn-free predictor there).
tests/test_features.py proves both paths give the same matrix.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from . import segment
from .fastlinear import NGRAMS, automaton, featurize, fnorm, tables


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
        words, ngrams, phrases, cue_ids = tables(self.vec_.vocabulary_, self.cues_)
        self._fast = (words, ngrams, automaton(phrases), cue_ids)
        return self._fast

    def transform(self, texts):
        words, ngrams, auto, cue_ids = self._fast or self._build()
        X = featurize(texts, words, ngrams, auto, cue_ids, self.vec_.idf_)
        return l2_normalize(X, norm="l2", copy=False)

    def transform_reference(self, texts):
        """scikit-learn's own transform over `analyze` (tests compare it with `transform`)."""
        return self.vec_.transform(texts)
