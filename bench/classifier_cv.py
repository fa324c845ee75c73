"""Tune the classifiers on the *train* split only: GroupKFold by template family.

The held-out test split (data/corpus, split == "test") is never read here; it is scored
once, by `qc train`, for the model card. Grouping folds by family mirrors that split:
every fold is scored on skeletons it never saw, so a variant that only memorises
templates does not win.

    python bench/classifier_cv.py                 # both tasks, all variants
    python bench/classifier_cv.py --task agent_act --variant lex
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from qc import classify

ROOT = Path(__file__).resolve().parents[1]


def train_rows(task: str) -> list[dict]:
    path = ROOT / "data" / "corpus" / classify.TASKS[task]["file"]
    rows = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    return [r for r in rows if r["split"] == "train"]


def cv(task: str, variant: str, folds: int = 5) -> dict:
    rows = train_rows(task)
    labels = classify.TASKS[task]["labels"]
    texts = [r["text"] for r in rows]
    groups = [r["family"] for r in rows]
    gold = [r["labels"] for r in rows]
    y = np.array([[l in g for l in labels] for g in gold], dtype=int)
    probs = np.zeros((len(rows), len(labels)))
    for tr, te in GroupKFold(n_splits=folds).split(texts, y, groups):
        pipe = classify.sklearn_pipeline(variant)
        pipe.fit([texts[i] for i in tr], y[tr])
        probs[te] = pipe.predict_proba([texts[i] for i in te])
    res = classify.evaluate(probs, gold, labels)
    return {"task": task, "variant": variant, "macro_f1": res["macro_f1"],
            "f1": {l: v["f1"] for l, v in res["per_label"].items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=list(classify.TASKS), action="append")
    ap.add_argument("--variant", action="append")
    a = ap.parse_args()
    for task in a.task or list(classify.TASKS):
        for v in a.variant or list(classify.VARIANTS):
            t = time.perf_counter()
            r = cv(task, v)
            print(f"{task:16s} {v:12s} macro-F1 {r['macro_f1']:.3f}  {r['f1']}  ({time.perf_counter() - t:.1f}s)")


if __name__ == "__main__":
    main()
