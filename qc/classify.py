"""Text classifiers: customer intents and agent acts, with probabilities.

Default backend: a scikit-learn Pipeline — word tokens from the shared private tokenizer
(qc.segment) plus character 1–3-grams, hashed, TF-IDF weighted, one calibrated linear
model per label (multi-label). Second backend: spaCy `textcat_multilabel` on a blank `zh`
pipeline with the jieba segmenter, trained from models/spacy_textcat.cfg. The model card
compares both; `qc train` ships the better one as the default version.

Models live in models/<name>/<version>/ with meta.json and README.md (the model card),
load from disk only, and are checked for compatibility (labels, library versions).
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import fastlinear, segment
from .errors import QCError
from .fastlinear import FastLinear
from .paths import CORPUS_DIR, MODELS_DIR
from .text import normalize


TASKS = {
    "customer_intent": {
        "file": "customer_intents.jsonl",
        "labels": ["bargain", "complaint", "logistics", "product_question", "order_statement", "other"],
        "roles": ("customer",),
    },
    "agent_act": {
        "file": "agent_acts.jsonl",
        "labels": ["apology", "soothing", "followup", "refusal", "rude", "other"],
        "roles": ("agent",),
    },
}


class ModelError(QCError):
    pass


# ----------------------------------------------------------------------------- features


def words(doc: str) -> list[str]:
    """Analyzer for the word features (module level so the pipeline pickles)."""
    return [w for w in segment.cut(normalize(doc)) if w.strip()]


def chars(doc: str) -> str:
    return normalize(doc)


# Feature/model variants compared by bench/classifier_cv.py (GroupKFold on train only):
# base = words + char 1-3-grams (two vectorizers); cues_* = qc.features.CueTfidf (words,
# char 1-3-grams and lexicon cue tokens, with the fast batch transform).
VARIANTS = ("base", "cues_svm", "cues_lr")
DEFAULT_VARIANT = "cues_svm"


def sklearn_pipeline(variant: str = DEFAULT_VARIANT):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

    from .features import CueTfidf

    if variant.startswith("base"):
        features = FeatureUnion([
            ("words", TfidfVectorizer(analyzer=words, min_df=2, sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char", preprocessor=chars, ngram_range=(1, 3), min_df=2, sublinear_tf=True)),
        ])
    else:
        # A learned vocabulary (min_df=2) rather than hashing keeps the artefact small.
        features = CueTfidf(min_df=2)
    variant, _, c = variant.partition("@")      # e.g. cues_svm@0.25 (C), for bench/classifier_cv.py
    if variant == "cues_lr":
        clf = OneVsRestClassifier(LogisticRegression(C=float(c or 4.0), class_weight="balanced", max_iter=2000))
    else:
        clf = OneVsRestClassifier(CalibratedClassifierCV(LinearSVC(C=float(c or 1.0), class_weight="balanced", random_state=0),
                                                         cv=3, method="sigmoid"))
    return Pipeline([("features", features), ("clf", clf)])


# ----------------------------------------------------------------------------- data


def load_corpus(task: str, corpus_dir: Path | None = None) -> tuple[list[dict], list[dict]]:
    path = Path(corpus_dir or CORPUS_DIR) / TASKS[task]["file"]
    if not path.exists():
        raise ModelError(f"{path}: 训练语料不存在 (corpus missing); build it with python data/corpus/build_corpus.py")
    labels = set(TASKS[task]["labels"])
    train, test = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        r = json.loads(line)
        bad = set(r["labels"]) - labels
        if bad or not r["labels"]:
            raise ModelError(f"{path}:{n}: 未知标签 (unknown labels) {sorted(bad) or '[]'}")
        (test if r["split"] == "test" else train).append(
            {"text": r["text"], "labels": r["labels"], "family": r.get("family", f"line{n}")})
    # Openly licensed real text (data/corpus/external/<task>.*.jsonl, built by tools/corpus/):
    # ordinary service turns that teach the models what is *not* a complaint, bargaining or rude.
    for ext in sorted((path.parent / "external").glob(f"{task}.*.jsonl")):
        for n, line in enumerate(ext.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                r = json.loads(line)
                if set(r["labels"]) - labels:
                    raise ModelError(f"{ext}:{n}: 未知标签 (unknown labels) {sorted(set(r['labels']) - labels)}")
                (test if r["split"] == "test" else train).append(
                    {"text": r["text"], "labels": r["labels"], "family": r["family"], "source": r.get("source")})
    return train, test


def review_examples(con, task: str) -> list[dict]:
    """Reviewed findings as training examples (feedback loop). Each rule says how
    (qc/rules/<id>.py: `review_labels`, `review_text`, `dismissal_teaches`): a confirmed
    finding (or a rejected appeal) makes the text it points at a positive example of the
    rule's label for this task; a dismissal makes it an `other` example only where the rule
    says a dismissal is about the text (agent side: "it wasn't rude"), or where its reason is
    one of the rule's `teaching_dismissals` (误判：顾客没有投诉)."""
    from .rules import RULES

    teaching = {r.id: r for r in RULES if task in r.review_labels}
    if not teaching:
        return []
    rows = con.execute(
        """
        SELECT f.rule_id, l.decision, f.conversation_id, f.message_seq, f.evidence, coalesce(l.reason, '')
        FROM findings f JOIN review_latest l USING (finding_id)
        WHERE l.decision IN ('confirmed', 'dismissed', 'appeal_rejected', 'appeal_upheld')
          AND f.rule_id IN (SELECT unnest(?))
        """,
        [sorted(teaching)],
    ).fetchall()
    out = []
    for rule_id, decision, conv, seq, evidence, reason in rows:
        rule = teaching[rule_id]
        if rule.review_text != "flagged":
            seq = (json.loads(evidence) if evidence else {}).get(rule.review_text)
        if seq is None:
            continue
        hit = con.execute("SELECT text FROM messages WHERE conversation_id = ? AND seq = ?", [conv, int(seq)]).fetchone()
        if not hit or not hit[0]:
            continue
        positive = decision in ("confirmed", "appeal_rejected")
        if not positive and not (rule.dismissal_teaches or
                                 any(reason.strip().startswith(r) for r in rule.teaching_dismissals)):
            continue
        out.append({"text": hit[0], "labels": [rule.review_labels[task]] if positive else ["other"],
                    "source": f"review:{decision}"})
    return out


# ----------------------------------------------------------------------------- metrics


def _decide(probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Labels with p >= threshold; at least the most likely one."""
    pred = probs >= threshold
    none = ~pred.any(axis=1)
    pred[none, probs[none].argmax(axis=1)] = True
    return pred


def evaluate(probs: np.ndarray, gold: list[list[str]], labels: list[str]) -> dict:
    y = np.array([[l in g for l in labels] for g in gold])
    pred = _decide(probs)
    per = {}
    for j, l in enumerate(labels):
        tp = int((pred[:, j] & y[:, j]).sum())
        fp = int((pred[:, j] & ~y[:, j]).sum())
        fn = int((~pred[:, j] & y[:, j]).sum())
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        per[l] = {"precision": round(p, 4), "recall": round(r, 4),
                  "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "support": int(y[:, j].sum())}
    single = [i for i, g in enumerate(gold) if len(g) == 1]
    cm = [[0] * len(labels) for _ in labels]
    for i in single:
        cm[labels.index(gold[i][0])][int(probs[i].argmax())] += 1
    return {"per_label": per, "macro_f1": round(float(np.mean([v["f1"] for v in per.values()])), 4),
            "confusion_single_label": {"rows_true_cols_pred": labels, "matrix": cm}}


# ----------------------------------------------------------------------------- models


@dataclass
class Model:
    name: str
    version: str
    backend: str
    labels: list[str]
    impl: object
    meta: dict

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"

    def _sklearn_probs(self, texts: list[str]) -> np.ndarray:
        if isinstance(self.impl, FastLinear):
            X = self.impl.transform(texts)
            probs = self.impl.proba(X)
        else:
            X = self.impl.named_steps["features"].transform(texts)
            probs = np.asarray(self.impl.named_steps["clf"].predict_proba(X))
        # A text with no known word, n-gram or cue (a lone 👌, a foreign script) tells the
        # model nothing; its intercepts alone must not make a finding: call it `other`.
        blank = np.diff(X.indptr) == 0
        if blank.any() and "other" in self.labels:
            probs[blank] = 0.0
            probs[blank, self.labels.index("other")] = 1.0
        return probs

    def threshold(self, label: str) -> float:
        """The rule threshold chosen at training (model card), for config value `auto`."""
        t = (self.meta.get("rule_thresholds") or {}).get(label)
        return float(t["threshold"]) if t else 0.9

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities, one row per text. Each distinct text is classified once: a day of
        chat repeats itself (快捷短语 pasted hundreds of times, 在吗, 好的, 已拍)."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        index: dict[str, int] = {}
        inverse = np.fromiter((index.setdefault(t or "", len(index)) for t in texts), dtype=np.int64, count=len(texts))
        unique = list(index)
        if self.backend == "sklearn":
            chunks = _chunks(unique)
            if len(chunks) == 1:
                probs = self._sklearn_probs(unique)
            else:
                # The featuriser is numpy and scipy for the most part, which release the GIL:
                # threads over contiguous chunks use the other cores (measured 77k -> 105k
                # distinct texts/s on 2 cores).
                from concurrent.futures import ThreadPoolExecutor

                feats = self.impl if isinstance(self.impl, FastLinear) else self.impl.named_steps["features"]
                if getattr(feats, "_fast", True) is None:
                    feats._build()          # once, before the threads share it
                with ThreadPoolExecutor(len(chunks)) as pool:
                    probs = np.vstack(list(pool.map(self._sklearn_probs, chunks)))
        else:
            docs = self.impl.pipe([normalize(t) for t in unique], batch_size=1000)
            probs = np.array([[d.cats.get(l, 0.0) for l in self.labels] for d in docs])
        return probs[inverse]


# Threshold choice: the out-of-fold precision a rule's model signal must reach on the
# train split (5 folds grouped by template family, so every fold scores unseen phrasings).
TARGET_PRECISION = 0.95
# Stricter where the signal *exempts* a conversation from a finding: an apology clears
# missing_apology, and the practice's classic confusion is soothing read as apology
# (安抚不等于致歉) — a false apology hides exactly the violation the rule exists for.
LABEL_TARGET_PRECISION = {"apology": 0.99}
CV_FOLDS = 5


def cv_thresholds(backend: str, rows: list[dict], labels: list[str]) -> dict:
    """Per label: the lowest probability threshold (0.30–0.99) at which out-of-fold
    precision on the train split is >= TARGET_PRECISION; 0.99 when none reaches it.
    Rules use these when their config says `auto` — the test split is never touched."""
    from sklearn.model_selection import GroupKFold

    y = np.array([[l in r["labels"] for l in labels] for r in rows])
    groups = [r.get("family") or f"row{i}" for i, r in enumerate(rows)]
    oof = np.zeros(y.shape)
    folds = min(CV_FOLDS, len(set(groups)))
    try:
        if folds < 2:
            raise ValueError("fewer than two template families")
        for tr, te in GroupKFold(n_splits=folds).split(rows, y, groups):
            part = [rows[i] for i in tr]
            impl = train_sklearn(part, labels) if backend == "sklearn" else train_spacy(part, labels)
            oof[te] = Model("cv", "cv", backend, labels, impl, {}).predict_proba([rows[i]["text"] for i in te])
    except ValueError as exc:
        # Too little data to cross-validate (a tiny corpus): keep the conservative default.
        return {l: {"threshold": 0.9, "cv_precision": None, "cv_recall": None, "reached_target": False,
                    "note": f"cross-validation impossible: {exc}"} for l in labels}
    out = {}
    grid = np.round(np.arange(0.30, 0.995, 0.01), 2)
    for j, l in enumerate(labels):
        chosen = None
        target = LABEL_TARGET_PRECISION.get(l, TARGET_PRECISION)
        for t in grid:
            pred = oof[:, j] >= t
            if pred.sum() and (pred & y[:, j]).sum() / pred.sum() >= target:
                chosen = float(t)
                break
        t = chosen if chosen is not None else 0.99
        pred = oof[:, j] >= t
        tp = int((pred & y[:, j]).sum())
        out[l] = {"threshold": t, "cv_precision": round(tp / pred.sum(), 4) if pred.sum() else None,
                  "cv_recall": round(tp / y[:, j].sum(), 4) if y[:, j].sum() else None,
                  "target_precision": target, "reached_target": chosen is not None}
    return out


PARALLEL_MIN_TEXTS = 20000


def _chunks(texts: list[str]) -> list[list[str]]:
    import os

    k = min(4, os.cpu_count() or 1) if len(texts) >= PARALLEL_MIN_TEXTS else 1
    size = -(-len(texts) // k)
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def _versions() -> dict:
    # the installed versions without importing scikit-learn or spaCy (~1 s each at every load)
    from importlib.metadata import PackageNotFoundError, version

    v = {"python": platform.python_version(), "scikit-learn": version("scikit-learn"), "segmenter": segment.backend()}
    try:
        v["spacy"] = version("spacy")
    except PackageNotFoundError:
        pass
    return v


def train_sklearn(train: list[dict], labels: list[str]):
    pipe = sklearn_pipeline()
    y = np.array([[l in r["labels"] for l in labels] for r in train], dtype=int)
    pipe.fit([r["text"] for r in train], y)
    return pipe


def train_spacy(train: list[dict], labels: list[str], cfg_path: Path | None = None):
    import random

    import spacy
    from spacy.training import Example
    from spacy.util import load_config

    cfg = load_config(cfg_path or (MODELS_DIR / "spacy_textcat.cfg"))
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    tc = nlp.add_pipe("textcat_multilabel", config=cfg["components"]["textcat_multilabel"])
    for l in labels:
        tc.add_label(l)
    examples = [Example.from_dict(nlp.make_doc(normalize(r["text"])), {"cats": {l: float(l in r["labels"]) for l in labels}})
                for r in train]
    opt = nlp.initialize(lambda: examples)
    tr = cfg["training"]
    rnd = random.Random(tr.get("seed", 0))
    for _ in range(int(tr["epochs"])):
        rnd.shuffle(examples)
        for i in range(0, len(examples), int(tr["batch_size"])):
            nlp.update(examples[i:i + int(tr["batch_size"])], sgd=opt, drop=float(tr["dropout"]))
    return nlp


def train(task: str, backend: str = "both", con=None, with_reviews: bool = False,
          corpus_dir: Path | None = None, out_dir: Path | None = None, version: str | None = None) -> dict:
    """Train `task`, evaluate on the held-out split, write models/<task>/<version>/.
    With backend 'both', train both, write both cards' numbers, and keep the better."""
    labels = TASKS[task]["labels"]
    train_rows, test_rows = load_corpus(task, corpus_dir)
    review_rows = review_examples(con, task) if (with_reviews and con is not None) else []
    data = [{"text": r["text"], "labels": r["labels"]} for r in train_rows] + \
        [{"text": r["text"], "labels": r["labels"]} for r in review_rows]
    digest = hashlib.sha256(json.dumps([data, test_rows], ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    results = {}
    impls = {}
    for b in (["sklearn", "spacy"] if backend == "both" else [backend]):
        impl = train_sklearn(data, labels) if b == "sklearn" else train_spacy(data, labels)
        m = Model(task, "eval", b, labels, impl, {})
        texts = [r["text"] for r in test_rows]
        import time

        t0 = time.perf_counter()
        probs = m.predict_proba(texts)
        dt = time.perf_counter() - t0
        results[b] = evaluate(probs, [r["labels"] for r in test_rows], labels)
        results[b]["predict_msgs_per_s"] = round(len(texts) / dt) if dt else None
        impls[b] = impl
    best = max(results, key=lambda b: results[b]["macro_f1"])
    review_groups = [{**r, "family": f"review{i}"} for i, r in enumerate(review_rows)]
    thresholds = cv_thresholds(best, train_rows + review_groups, labels)
    version = version or datetime.now(timezone.utc).strftime("%Y%m%d") + "-" + digest[:8]
    out = Path(out_dir or MODELS_DIR) / task / version
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if best == "sklearn":
        import joblib

        joblib.dump(impls[best], out / "model.joblib")
    else:
        impls[best].to_disk(out / "spacy")
    previous = latest_meta(task, out_dir)
    sources: dict[str, int] = {}
    for r in train_rows:
        k = r.get("source") or "templates"
        sources[k] = sources.get(k, 0) + 1
    meta = {
        "name": task, "version": version, "backend": best, "labels": labels,
        "train_sources": sources,
        "external_held_out": _external_held_out(impls[best], best, task, labels, test_rows, thresholds),
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_sha256": digest, "train_examples": len(data), "test_examples": len(test_rows),
        "review_examples": len(review_rows), "with_reviews": with_reviews,
        "held_out": results[best], "comparison": {b: {"macro_f1": r["macro_f1"], "predict_msgs_per_s": r["predict_msgs_per_s"]}
                                                   for b, r in results.items()},
        "all_results": results, "libraries": _versions(), "threshold": 0.5,
        "rule_thresholds": thresholds, "target_precision": TARGET_PRECISION,
        "previous": {"version": previous["version"], "macro_f1": previous["held_out"]["macro_f1"]} if previous else None,
    }
    (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "README.md").write_text(model_card(meta), encoding="utf-8")
    return meta


def _external_held_out(impl, backend, task, labels, test_rows, thresholds) -> dict | None:
    """Held-out non-template text, per source (CrossWOZ turns: all ordinary service talk;
    free-written chat messages: every label): per label at the decision threshold
    (precision, recall, F1 — the card's "non-template macro-F1") and at the rule threshold
    (flagged, false alarms, found) — what a QC specialist would see."""
    ext = [r for r in test_rows if r.get("source")]
    if not ext:
        return None
    m = Model(task, "eval", backend, labels, impl, {"rule_thresholds": thresholds})
    out = {}
    for src in sorted({r["source"] for r in ext}):
        rows = [r for r in ext if r["source"] == src]
        probs = m.predict_proba([r["text"] for r in rows])
        res = evaluate(probs, [r["labels"] for r in rows], labels)
        per = {}
        for j, l in enumerate(labels):
            gold = np.array([l in r["labels"] for r in rows])
            flagged = probs[:, j] >= (m.threshold(l) if l != "other" else 0.5)
            per[l] = {**res["per_label"][l], "rule_threshold": round(m.threshold(l), 2) if l != "other" else None,
                      "flagged": int(flagged.sum()), "false_alarms": int((flagged & ~gold).sum()),
                      "false_alarm_rate": round(float((flagged & ~gold).sum()) / max(1, int((~gold).sum())), 4),
                      "positives": int(gold.sum()), "found": int((flagged & gold).sum())}
        present = [v["f1"] for v in per.values() if v["support"]]
        out[src] = {"examples": len(rows), "labels": per,
                    "macro_f1_present": round(float(np.mean(present)), 4) if present else None}
    return out


SOURCE_DESC = {
    "templates": "team-written templates (data/corpus/README.md; ours, no third-party text)",
    "crosswoz": "CrossWOZ, github.com/thu-coai/CrossWOZ, Apache-2.0: ordinary polite service turns "
                "(tools/corpus/crosswoz.py; data/corpus/external/)",
    "written": "free-written buyer/agent chat messages, one situation at a time, by writers who never saw "
               "JDDC or the templates (ours; not real chats; tools/corpus/written.py and its briefs)",
}


def model_card(meta: dict) -> str:
    lines = [
        f"# 模型卡 Model card — {meta['name']}@{meta['version']}",
        "",
        f"* backend: **{meta['backend']}** (chosen by held-out macro-F1 among: "
        + ", ".join(f"{b} {c['macro_f1']:.3f} / {c['predict_msgs_per_s']} msg/s" for b, c in meta["comparison"].items()) + ")",
        f"* trained: {meta['trained_at']}; data sha256 `{meta['data_sha256'][:16]}…`",
        f"* examples: {meta['train_examples']} train (of which {meta['review_examples']} from reviews), "
        f"{meta['test_examples']} held-out test (template families, plus held-out CrossWOZ dialogues and written families; never used for tuning)",
        f"* labels: {', '.join(meta['labels'])}; decision threshold {meta['threshold']} (at least the top label)",
        f"* libraries: {json.dumps(meta['libraries'], ensure_ascii=False)}",
        "",
        "## Training data: sources, licences, shares",
        "",
    ]
    total = sum((meta.get("train_sources") or {}).values()) or 1
    for src, n in sorted((meta.get("train_sources") or {}).items()):
        lines.append(f"* {SOURCE_DESC.get(src, src)}: {n} train examples ({n / total:.0%})")
    lines += ["* never trained on: JDDC (research-only; used for measuring only, bench/real_eval.md)", ""]
    for src, ext in (meta.get("external_held_out") or {}).items():
        if not isinstance(ext, dict) or "labels" not in ext:
            continue
        mf = ext.get("macro_f1_present")
        lines += [f"## Held-out non-template text: {ext['examples']} {src} messages"
                  + (f" (macro-F1 over the labels present {mf:.3f})" if mf is not None else ""), "",
                  "Per label at the decision threshold (precision, recall, F1), and at the rule threshold: "
                  "messages flagged, false alarms (share of the negatives), positives found (rules whose threshold is a parameter, such as missing_apology's complaint_threshold, say their own in `qc rules`).", "",
                  "| label | support | precision | recall | F1 | `auto` threshold | flagged | false alarms | found |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for l, v in ext["labels"].items():
            rt = "-" if v["rule_threshold"] is None else f"{v['rule_threshold']:.2f}"
            lines.append(f"| {l} | {v['support']} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {rt} "
                         f"| {v['flagged']} | {v['false_alarms']} ({v['false_alarm_rate']:.2%}) | {v['found']}/{v['positives']} |")
        lines.append("")
    lines += [
        f"## Held-out results (macro-F1 {meta['held_out']['macro_f1']:.3f})",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for l, v in meta["held_out"]["per_label"].items():
        lines.append(f"| {l} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    allr = meta.get("all_results") or {}
    if len(allr) > 1:
        names = list(allr)
        lines += ["", "Backends compared on the same held-out split (F1 per label):", "",
                  "| label | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for l in meta["labels"]:
            lines.append(f"| {l} | " + " | ".join(f"{allr[b]['per_label'][l]['f1']:.3f}" for b in names) + " |")
        lines.append("| **macro-F1** | " + " | ".join(f"**{allr[b]['macro_f1']:.3f}**" for b in names) + " |")
    cm = meta["held_out"]["confusion_single_label"]
    lines += ["", "Confusion matrix (single-label test examples; rows = true, columns = predicted top label):", "",
              "| | " + " | ".join(cm["rows_true_cols_pred"]) + " |", "|---" * (len(cm["rows_true_cols_pred"]) + 1) + "|"]
    for l, row in zip(cm["rows_true_cols_pred"], cm["matrix"]):
        lines.append(f"| {l} | " + " | ".join(str(x) for x in row) + " |")
    lines += ["", f"## Rule thresholds (`auto` in config/qc.yaml)", "",
              f"Lowest p at which out-of-fold precision on the train split ({CV_FOLDS} folds grouped by template "
              f"family) reaches the target ({meta['target_precision']}; apology "
              f"{LABEL_TARGET_PRECISION.get('apology')}: an apology exempts a conversation from missing_apology):", "",
              "| label | target | threshold | CV precision | CV recall |", "|---|---|---|---|---|"]
    for l, v in meta["rule_thresholds"].items():
        lines.append(f"| {l} | {v.get('target_precision', meta['target_precision'])} | {v['threshold']:.2f}"
                     f"{'' if v['reached_target'] else ' (target not reached)'} | {v['cv_precision']} | {v['cv_recall']} |")
    if meta.get("previous"):
        p = meta["previous"]
        lines += ["", f"## Change from the previous version", "",
                  f"{p['version']}: macro-F1 {p['macro_f1']:.3f} → {meta['held_out']['macro_f1']:.3f}"
                  f" ({meta['review_examples']} reviewed findings added as training examples)."]
    lines += ["", "Training data: data/corpus/README.md. Feedback: `qc train --with-reviews` adds reviewed findings."]
    return "\n".join(lines) + "\n"


def latest_meta(task: str, models_dir: Path | None = None) -> dict | None:
    d = Path(models_dir or MODELS_DIR) / task
    if not d.exists():
        return None
    metas = []
    for p in d.iterdir():
        try:
            metas.append(json.loads((p / "meta.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    # newest by training time, not by name: two versions of one day sort by their data hash
    return max(metas, key=lambda m: (m.get("trained_at", ""), m.get("version", ""))) if metas else None


def load_model(task: str, version: str | None = None, models_dir: Path | None = None) -> Model:
    """Load from disk only. Raises ModelError with a clear message when missing or incompatible."""
    d = Path(models_dir or MODELS_DIR) / task
    if version is None:
        meta = latest_meta(task, models_dir)
        if meta is None:
            raise ModelError(f"{d}: 没有训练好的模型 (no trained model); run `qc train`")
        version = meta["version"]
    path = d / version
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}/meta.json: 无法读取模型说明 ({exc})") from None
    if meta.get("labels") != TASKS[task]["labels"]:
        raise ModelError(f"{path}: 模型标签与当前版本不兼容 (labels {meta.get('labels')} != {TASKS[task]['labels']})")
    libs = _versions()
    if meta["backend"] == "sklearn":
        if meta["libraries"].get("scikit-learn") != libs["scikit-learn"]:
            raise ModelError(f"{path}: 模型由 scikit-learn {meta['libraries'].get('scikit-learn')} 训练，"
                             f"当前为 {libs['scikit-learn']}，请重新训练 (qc train)")
        # The numpy-only predictor cached from this exact joblib (qc/fastlinear.py: same
        # probabilities, no scikit-learn import); built from the joblib on first load.
        impl = fastlinear.load_cached(path / "model.joblib") if (path / "model.joblib").exists() else None
        if impl is None:
            import joblib

            try:
                impl = joblib.load(path / "model.joblib")
            except Exception as exc:  # noqa: BLE001 - any unpickling failure is "incompatible"
                raise ModelError(f"{path}/model.joblib: 无法加载模型 ({type(exc).__name__}: {exc})") from None
            impl = fastlinear.write_cache(path / "model.joblib", impl) or impl
    else:
        import spacy

        try:
            impl = spacy.load(path / "spacy")
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"{path}/spacy: 无法加载模型 ({type(exc).__name__}: {exc})") from None
    return Model(task, version, meta["backend"], meta["labels"], impl, meta)
