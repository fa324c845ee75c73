"""Free-written chat messages (ours) -> training and held-out rows for the classifiers.

    python -m tools.corpus.written /tmp/written     # w*.jsonl buyer, a*.jsonl agent files

Why: the template corpus teaches the models its templates (length, fillers, shop words), and
on real JD chats the intent model's complaint precision was 0.30 at recall 0.45 per message.
Openly licensed real complaint text does not exist (DCH-1's Weibo text has no licence,
JDDC is research-only, the review corpora carry none). So several writers who never saw JDDC,
our templates or the tool's output wrote free chat messages, one situation at a time, from
the brief in tools/corpus/written_prompts/ (DESIGN.md's definitions, the hard negatives it
names, the typing habits of buyers and agents). The text is ours, under the project's licence.
It is *not* real chat text, and the model cards say so.

Rows: {text, labels, split, family, source: "written"}; family = writer:situation (CV groups
by it). Held out (`test`): every message of one writer per side (TEST_WRITERS), so the model
card's non-template scores are on a hand the models never saw — another writer's habits, not
only other sentences of the same ones.
Checks: labels from the task's set, `other` alone, no text twice, none equal to a template.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qc.classify import TASKS
from qc.text import normalize

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "corpus" / "external"
SIDES = {"w": "customer_intent", "a": "agent_act"}


TEST_WRITERS = {"w4", "a3"}


def build(src: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in SIDES.values()}
    problems = []
    for task in SIDES.values():
        corpus = ROOT / "data" / "corpus" / TASKS[task]["file"]
        seen = {normalize(json.loads(l)["text"]) for l in corpus.read_text(encoding="utf-8").splitlines() if l.strip()}
        labels = set(TASKS[task]["labels"])
        prefix = next(p for p, t in SIDES.items() if t == task)
        for f in sorted(src.glob(f"{prefix}[0-9]*.jsonl")):
            writer = f.stem
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                    text, labs = r["text"].strip(), list(dict.fromkeys(r["labels"]))
                except (ValueError, KeyError, AttributeError) as exc:
                    problems.append(f"{f}:{n}: {exc}")
                    continue
                if set(labs) - labels or not labs or ("other" in labs and len(labs) > 1):
                    problems.append(f"{f}:{n}: labels {labs}")
                    continue
                key = normalize(text)
                if not key or key in seen:
                    continue          # a duplicate, or a template sentence: not new evidence
                seen.add(key)
                fam = f"written:{writer}:{str(r.get('situation') or 'misc').strip().lower()}"
                out[task].append({"text": text, "labels": sorted(labs), "split": "test" if writer in TEST_WRITERS else "train",
                                  "family": fam, "source": "written"})
    for p in problems:
        print(p, file=sys.stderr)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    a = ap.parse_args(argv)
    for task, rows in build(a.src).items():
        path = OUT / f"{task}.written.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        test = sum(r["split"] == "test" for r in rows)
        print(f"{path.relative_to(ROOT)}: {len(rows)} rows ({len(rows) - test} train, {test} test)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
