#!/usr/bin/env python3
"""Validate the utterance corpus and print its counts and a few examples.

    python data/corpus/validate_corpus.py [--examples 10] [--seed 7]

Checks, per file: every line parses; fields and types; labels from the allowed set,
non-empty, no repeats, `other` never combined; split is train/test; a family lives in one
split only and keeps one label set; no text repeated (exactly, or after normalisation:
punctuation/spaces/emoji dropped) anywhere in the file, so in particular none across
train/test; >= 3000 utterances and >= 40 families; every label in both splits; the test
split holds 15-40 % of the families; the files match a fresh build (build_corpus --check).
Exit status 1 when a check fails.  Stdlib only.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build_corpus  # noqa: E402

FILES = {
    "customer_intents.jsonl": build_corpus.CUSTOMER_LABELS,
    "agent_acts.jsonl": build_corpus.AGENT_LABELS,
}
FIELDS = {"text": str, "labels": list, "split": str, "family": str, "shop": str}


def check_file(path: Path, allowed: tuple) -> tuple[list[str], list[dict]]:
    errors, rows = [], []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{path.name}:{i}: not JSON ({e})")
            continue
        if set(r) != set(FIELDS):
            errors.append(f"{path.name}:{i}: fields {sorted(r)}")
            continue
        bad = [k for k, t in FIELDS.items() if not isinstance(r[k], t)]
        if bad:
            errors.append(f"{path.name}:{i}: wrong type for {bad}")
            continue
        labels = r["labels"]
        if not labels or len(set(labels)) != len(labels) or any(l not in allowed for l in labels):
            errors.append(f"{path.name}:{i}: bad labels {labels}")
        if "other" in labels and len(labels) > 1:
            errors.append(f"{path.name}:{i}: other combined with {labels}")
        if r["split"] not in ("train", "test"):
            errors.append(f"{path.name}:{i}: bad split {r['split']}")
        if not r["text"].strip():
            errors.append(f"{path.name}:{i}: empty text")
        if r["shop"] not in build_corpus.SHOP_NAMES.values():
            errors.append(f"{path.name}:{i}: unknown shop {r['shop']}")
        rows.append(r)

    fam_split, fam_labels = defaultdict(set), defaultdict(set)
    for r in rows:
        fam_split[r["family"]].add(r["split"])
        fam_labels[r["family"]].add(tuple(r["labels"]))
    for f, s in fam_split.items():
        if len(s) > 1:
            errors.append(f"{path.name}: family {f} in both splits")
        if len(fam_labels[f]) > 1:
            errors.append(f"{path.name}: family {f} has several label sets {fam_labels[f]}")

    exact = Counter(r["text"] for r in rows)
    dups = [t for t, c in exact.items() if c > 1]
    if dups:
        errors.append(f"{path.name}: {len(dups)} texts repeated, e.g. {dups[:3]}")
    by_key = defaultdict(set)
    for r in rows:
        by_key[build_corpus.norm_key(r["text"])].add(r["split"])
    cross = [k for k, s in by_key.items() if len(s) > 1]
    if cross:
        errors.append(f"{path.name}: {len(cross)} normalised texts in both train and test, e.g. {cross[:3]}")
    train_texts = {r["text"] for r in rows if r["split"] == "train"}
    if any(r["text"] in train_texts for r in rows if r["split"] == "test"):
        errors.append(f"{path.name}: exact text shared by train and test")

    if len(rows) < 3000:
        errors.append(f"{path.name}: only {len(rows)} utterances (< 3000)")
    if len(fam_split) < 40:
        errors.append(f"{path.name}: only {len(fam_split)} families (< 40)")
    test_fams = sum(1 for s in fam_split.values() if s == {"test"})
    share = test_fams / max(1, len(fam_split))
    if not 0.15 <= share <= 0.40:
        errors.append(f"{path.name}: test holds {share:.0%} of the families")
    for split in ("train", "test"):
        present = {l for r in rows if r["split"] == split for l in r["labels"]}
        missing = [l for l in allowed if l not in present]
        if missing:
            errors.append(f"{path.name}: labels {missing} absent from {split}")
    return errors, rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    all_errors = []
    rng = random.Random(args.seed)
    for name, allowed in FILES.items():
        errors, rows = check_file(HERE / name, allowed)
        all_errors += errors
        fams = {r["family"]: r["split"] for r in rows}
        n_test_f = sum(1 for s in fams.values() if s == "test")
        print(f"== {name}: {len(rows)} utterances, {len(fams)} families ({n_test_f} test)")
        print(f"   {'label':18s} {'train':>6s} {'test':>6s} {'total':>6s}")
        for l in allowed:
            a = sum(1 for r in rows if r["split"] == "train" and l in r["labels"])
            b = sum(1 for r in rows if r["split"] == "test" and l in r["labels"])
            print(f"   {l:18s} {a:6d} {b:6d} {a + b:6d}")
        for s in ("train", "test"):
            n = sum(1 for r in rows if r["split"] == s)
            m = sum(1 for r in rows if r["split"] == s and len(r["labels"]) > 1)
            print(f"   {s}: {n} utterances, {m} with two labels")
        print(f"   {args.examples} random examples:")
        for r in rng.sample(rows, min(args.examples, len(rows))):
            print(f"     [{r['split']:5s}] {'+'.join(r['labels']):28s} {r['text']}   ({r['family']}, {r['shop']})")
    if build_corpus.main(["--check"]) != 0:
        all_errors.append("files differ from a fresh build: run python data/corpus/build_corpus.py")
    if all_errors:
        print("\nFAILED:")
        for e in all_errors:
            print("  " + e)
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
