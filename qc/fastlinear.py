"""The shipped scikit-learn classifiers, predicted with numpy alone (no scikit-learn import).

Why: `qc inspect` is a process of its own every night, and importing scikit-learn and
unpickling the pipeline cost ~1.3 s of it on two cores (sklearn alone 0.9 s) — for a model
whose prediction is a sparse product and a sigmoid. The fitted pipeline (model.joblib) stays
the reference: `export` reads the numbers out of it once, `load` caches them beside it as
`fast-<sha of model.joblib>.npz` (git-ignored, derived), and `FastLinear` predicts from
those arrays. tests/test_fastlinear.py proves the probabilities equal the pipeline's on
real Chinese chat text.

What is exported (CueTfidf + OneVsRest over calibrated LinearSVC, `cues_svm`, or over
LogisticRegression, `cues_lr`): the featuriser's lookup tables (`featurize` below, shared
with qc.features.CueTfidf.transform), the idf vector, and per label and calibration fold
the linear weights and the sigmoid's a, b. Anything else (another estimator) is not
exportable and simply loads the joblib as before.
"""

from __future__ import annotations

import hashlib
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import segment
from .text import _FULLWIDTH, normalize

NGRAMS = (1, 2, 3)
SEP = "\n"   # joins a batch; `fnorm` turns it into a space in every text
_BITS = 21    # a code point fits in 21 bits: an n-gram of up to 3 characters packs into an int64
FORMAT = 1    # bump when the arrays below change meaning

# qc.text.normalize's full-width table plus newline -> space (fnorm without the lower()).
_FNORM_TABLE = {**_FULLWIDTH, ord(SEP): ord(" ")}


def fnorm(doc: str) -> str:
    """Feature normalisation: qc.text.normalize, and newlines as spaces (so a newline can
    separate the messages of a batch without ever being part of one)."""
    return normalize(doc or "").replace(SEP, " ")


def codepoints(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def pack(cp: np.ndarray, n: int) -> np.ndarray:
    """Keys of all n-grams of a code-point array: n characters packed into one int64."""
    m = len(cp) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    key = cp[:m].copy()
    for j in range(1, n):
        key = (key << _BITS) | cp[j:j + m]
    return key


def automaton(phrases: list[str]):
    from .textmatch import PhraseAutomaton

    if not phrases:
        return None
    return PhraseAutomaton({p: j for j, p in enumerate(phrases)})


def featurize(texts, words: dict, ngrams: dict, auto, cue_ids: list, idf: np.ndarray):
    """TF-IDF rows (not yet l2-normalised) of `texts`, one CSR row each.

    The whole batch as one string, messages separated by SEP (which fnorm removed from every
    message): character n-grams are packed code points looked up in the sorted vocabulary
    with numpy `searchsorted`, words come from one segmenter call and one C-level
    `map(dict.get)`, lexicon cues from one Aho-Corasick pass — no Python per n-gram, per word
    or per message beyond the normalisation."""
    n = len(texts)
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
    cp = codepoints(big)
    pos_doc = np.repeat(np.arange(n), lens + 1)[:len(cp)]
    sep_cum = np.concatenate([[0], np.cumsum(cp == ord(SEP))])
    rows, cols = [], []
    for k in NGRAMS:
        keys = pack(cp, k)
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
        ends, vals = auto.hits(big)
        if len(ends):
            ids = [cue_ids[j] for j in vals.tolist()]
            rows.append(np.repeat(pos_doc[ends - 1], [len(x) for x in ids]))
            cols.append(np.fromiter(chain.from_iterable(ids), dtype=np.int64))
    X = sp.csr_matrix((np.ones(sum(len(r) for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n, len(idf)))
    X.sum_duplicates()
    X.data = np.log(X.data) + 1.0                     # sublinear tf, as TfidfVectorizer
    return X @ sp.diags(idf)


def l2_rows(X):
    """Each row scaled to unit l2 norm, empty rows left alone (scikit-learn's `normalize`)."""
    X = sp.csr_matrix(X)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    norms[norms == 0.0] = 1.0
    X.data /= np.repeat(norms, np.diff(X.indptr))
    return X


def tables(vocab: dict, cues: dict[str, list[str]]):
    """The featuriser's lookup tables from a fitted vocabulary and the lexicon snapshot."""
    words = {k[2:]: v for k, v in vocab.items() if k.startswith("w:")}
    ngrams = {}
    for n in NGRAMS:
        items = [(int(pack(codepoints(k), n)[0]), v) for k, v in vocab.items() if len(k) == n]
        items.sort()
        ngrams[n] = (np.array([k for k, _ in items], dtype=np.int64), np.array([v for _, v in items], dtype=np.int64))
    phrases = [(p, [vocab[t] for t in toks if t in vocab]) for p, toks in cues.items()]
    phrases = [(p, ids) for p, ids in phrases if ids]
    return words, ngrams, [p for p, _ in phrases], [ids for _, ids in phrases]


class NotExportable(Exception):
    pass


def export(pipe) -> dict[str, np.ndarray]:
    """The arrays of a fitted `cues_svm` / `cues_lr` pipeline (attribute reads only)."""
    feats, clf = pipe.named_steps["features"], pipe.named_steps["clf"]
    if not hasattr(feats, "cues_") or not getattr(clf, "multilabel_", False):
        raise NotExportable("not a CueTfidf + multi-label OneVsRest pipeline")
    words, ngrams, phrases, cue_ids = tables(feats.vec_.vocabulary_, feats.cues_)
    cols, kinds, owner = [], [], []
    for j, est in enumerate(clf.estimators_):
        if hasattr(est, "calibrated_classifiers_"):
            for cc in est.calibrated_classifiers_:
                cal = cc.calibrators[0]
                if type(cal).__name__ != "_SigmoidCalibration" or cc.estimator.coef_.shape[0] != 1:
                    raise NotExportable("calibration other than a binary sigmoid")
                cols.append((cc.estimator.coef_.ravel(), float(cc.estimator.intercept_[0]), float(cal.a_), float(cal.b_)))
                kinds.append(0)
                owner.append(j)
        elif type(est).__name__ == "LogisticRegression" and est.coef_.shape[0] == 1:
            # expit(f) = 1 / (1 + exp(-f)): the sigmoid form below with a = -1, b = 0
            cols.append((est.coef_.ravel(), float(est.intercept_[0]), -1.0, 0.0))
            kinds.append(1)
            owner.append(j)
        else:
            raise NotExportable(f"estimator {type(est).__name__}")
    wkeys = list(words)
    return {
        "format": np.array([FORMAT]),
        "idf": np.asarray(feats.vec_.idf_, dtype=np.float64),
        "word_keys": np.array(wkeys, dtype=str), "word_ids": np.array([words[k] for k in wkeys], dtype=np.int64),
        **{f"ngram{n}_keys": ngrams[n][0] for n in NGRAMS}, **{f"ngram{n}_ids": ngrams[n][1] for n in NGRAMS},
        "cue_phrases": np.array(phrases, dtype=str),
        "cue_ids": np.fromiter(chain.from_iterable(cue_ids), dtype=np.int64),
        "cue_offsets": np.cumsum([0] + [len(x) for x in cue_ids]).astype(np.int64),
        "W": np.stack([c[0] for c in cols], axis=1).astype(np.float64),
        "b": np.array([c[1] for c in cols]), "a": np.array([c[2] for c in cols]), "c": np.array([c[3] for c in cols]),
        "kind": np.array(kinds, dtype=np.int64), "owner": np.array(owner, dtype=np.int64),
        "n_labels": np.array([len(clf.estimators_)]),
    }


class FastLinear:
    """Predicts like the exported pipeline; `transform` and `proba` mirror its two steps."""

    def __init__(self, arrays):
        z = {k: arrays[k] for k in arrays.keys()}
        self.idf = z["idf"]
        self.words = dict(zip(z["word_keys"].tolist(), z["word_ids"].tolist()))
        self.ngrams = {n: (z[f"ngram{n}_keys"], z[f"ngram{n}_ids"]) for n in NGRAMS}
        phrases = z["cue_phrases"].tolist()
        off = z["cue_offsets"]
        self.cue_ids = [z["cue_ids"][off[i]:off[i + 1]].tolist() for i in range(len(phrases))]
        self.auto = automaton(phrases)
        self.W, self.b, self.a, self.c = z["W"], z["b"], z["a"], z["c"]
        self.owner = z["owner"]
        self.n_labels = int(z["n_labels"][0])
        self.folds = np.bincount(self.owner, minlength=self.n_labels)

    def transform(self, texts):
        return l2_rows(featurize(texts, self.words, self.ngrams, self.auto, self.cue_ids, self.idf))

    def proba(self, X) -> np.ndarray:
        f = np.asarray(X @ self.W) + self.b                      # decision value per label x fold
        p = 1.0 / (1.0 + np.exp(self.a * f + self.c))            # the sigmoid calibration
        p[(1.0 < p) & (p <= 1.0 + 1e-5)] = 1.0                   # as scikit-learn clips
        out = np.zeros((X.shape[0], self.n_labels))
        for j in range(self.n_labels):                           # mean over calibration folds
            out[:, j] = p[:, self.owner == j].sum(axis=1) / self.folds[j]
        return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def cache_path(joblib_path: Path) -> Path:
    return joblib_path.with_name(f"fast-{_sha(joblib_path)}.npz")


def load_cached(joblib_path: Path) -> FastLinear | None:
    """The cached arrays of this exact model.joblib, or None (not built yet / unreadable)."""
    p = cache_path(joblib_path)
    if not p.exists():
        return None
    try:
        with np.load(p, allow_pickle=False) as z:
            if int(z["format"][0]) != FORMAT:
                return None
            return FastLinear(z)
    except (OSError, ValueError, KeyError):
        return None


def write_cache(joblib_path: Path, pipe) -> FastLinear | None:
    """Export `pipe` beside its joblib (atomically); None when it cannot be exported. A
    read-only model folder is fine: the next run simply loads the joblib again."""
    try:
        arrays = export(pipe)
    except NotExportable:
        return None
    p = cache_path(joblib_path)
    tmp = p.with_name(p.name + ".tmp.npz")
    try:
        np.savez(tmp, **arrays)
        tmp.replace(p)
    except OSError:
        tmp.unlink(missing_ok=True)
    return FastLinear(arrays)
