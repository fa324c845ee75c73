"""Per-label scores of the shipped classifiers on real, non-template text (JDDC, measuring only).

    python -m tools.real.model_eval                # score, write bench/results/real_model_eval.json
    python -m tools.real.model_eval --cards        # ... and the "real chats" section of each model card

The model cards' own held-out split is template-generated (split by family), so its scores
say how the models do on unseen *templates*. This is the other measure: every customer and
agent message of the blind-labelled real conversations (bench/real_labels/), against each
labeller's marks. The labels cover four of the twelve model labels — complaint and
bargain (customer), apology and rude (agent) — so each is scored one-vs-rest: positive =
the labeller marked the message, negative = every other typed message of that side.

Scored at the threshold the rules use (config defaults, the model card for `auto`) and at
0.5. JDDC is research-only: it is never trained on; only these counts leave bench/real/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qc.classify import load_model
from qc.real_eval import load_labels

ROOT = Path(__file__).resolve().parents[2]
SETS = (  # (data folder, label folder, what the set is)
    ("bench/real/jddc-3b38b33", "bench/real_labels/jddc-3b38b33", "dev round 1 (317 conversations, A/B)"),
    ("bench/real/jddc-3b38b33", "bench/real_labels/jddc-3b38b33-r2", "dev round 2 (200 random, G/H)"),
    ("bench/real/jddc-3b38b33", "bench/real_labels/jddc-3b38b33-r3", "dev round 3 (150 random + 50 screened, I/J)"),
    ("bench/real/jddc-3b38b33", "bench/real_labels/jddc-3b38b33-r4", "dev round 4 (150 random + 1 screened, K/L)"),
    ("bench/real/jddc-886ef1d", "bench/real_labels/jddc-886ef1d", "independent round 1 (150 random, C/D)"),
    ("bench/real/jddc-886ef1d", "bench/real_labels/jddc-886ef1d-r2", "independent round 2 (150 random + 50 screened, E/F)"),
    ("bench/real/jddc-886ef1d", "bench/real_labels/jddc-886ef1d-r3", "independent round 3 (150 random + 50 screened, M/N)"),
)
# label -> (task, side, labelling-guide key)
LABELS = {
    "complaint": ("customer_intent", "customer", "complaints"),
    "bargain": ("customer_intent", "customer", "bargaining"),
    "apology": ("agent_act", "agent", "apologies"),
    "rude": ("agent_act", "agent", "rude"),
}


def rule_thresholds(models: dict) -> dict[str, float]:
    """The p each label needs in the rules, as the engine resolves it."""
    from qc.config import load_config

    cfg = load_config()
    out = {}
    for rid, pname, label in (("missing_apology", "complaint_threshold", "complaint"),
                              ("bargain_followup_late", "bargain_threshold", "bargain"),
                              ("missing_apology", "apology_threshold", "apology"),
                              ("rude_tone", "threshold", "rude")):
        v = cfg.rule_params(rid)[pname]
        if v == "auto":
            v = models[LABELS[label][0]].threshold(label)
        out[label] = float(v)
    return out


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = 2 * p * r / (p + r) if p and r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f}


def score_set(data: Path, labels_dir: Path, models: dict, thresholds: dict) -> dict:
    msgs: dict[str, list[dict]] = {}
    for line in (data / "chats.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            m = json.loads(line)
            msgs.setdefault(m["conversation_id"], []).append(m)
    labels = load_labels(labels_dir)
    convs = sorted(set().union(*(set(v) for v in labels.values())))
    rows = [m for c in convs for m in msgs.get(c, []) if m.get("text") and m["role"] in ("customer", "agent")]
    probs = {}
    for task, model in models.items():
        side = "customer" if task == "customer_intent" else "agent"
        texts = [m["text"] for m in rows if m["role"] == side]
        p = model.predict_proba(texts)
        probs[task] = {(m["conversation_id"], m["seq"]): p[i] for i, m in enumerate(r for r in rows if r["role"] == side)}
    out = {"conversations": len(convs), "messages": len(rows), "by_labeller": {}}
    for who, lab in sorted(labels.items()):
        per = {}
        for label, (task, side, key) in LABELS.items():
            li = models[task].labels.index(label)
            gold = {(c, s) for c, d in lab.items() for s in (d.get(key) or [])}
            res = {}
            for name, t in (("rule", thresholds[label]), ("0.5", 0.5)):
                tp = fp = fn = 0
                for k, p in probs[task].items():
                    if k[0] not in lab:
                        continue
                    pos, g = bool(p[li] >= t), k in gold
                    tp += pos and g
                    fp += pos and not g
                    fn += g and not pos
                res[name] = _prf(tp, fp, fn) | {"threshold": t}
            per[label] = {"support": len(gold), **res}
        out["by_labeller"][who] = per
    return out


def card_section(results: dict, task: str) -> str:
    labels = [l for l, (t, _, _) in LABELS.items() if t == task]
    lines = ["## Real chats, not template-generated (JDDC 2019 sample, measuring only)", "",
             "Every message of the blind-labelled real conversations (bench/real_eval.md), one-vs-rest "
             "against each labeller's marks; JDDC is research-only and never trained on. Only "
             f"{', '.join(labels)} are labelled there. `tools/real/model_eval.py` writes this section.", "",
             "| set | labeller | label | support | threshold | precision | recall | F1 | F1 at 0.5 |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, res in results["sets"].items():
        for who, per in res["by_labeller"].items():
            for l in labels:
                r, h = per[l]["rule"], per[l]["0.5"]
                fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
                lines.append(f"| {name} | {who} | {l} | {per[l]['support']} | {r['threshold']:.2f} | "
                             f"{fmt(r['precision'])} | {fmt(r['recall'])} | {r['f1']:.2f} | {h['f1']:.2f} |")
    macro = results["macro_f1"][task]
    lines += ["", f"Mean F1 over these labels, labellers and sets, at the rule thresholds: **{macro:.2f}**.", ""]
    return "\n".join(lines)


def write_cards(results: dict, models: dict) -> list[Path]:
    done = []
    marker = "## Real chats, not template-generated"
    for task, model in models.items():
        card = ROOT / "models" / task / model.version / "README.md"
        text = card.read_text(encoding="utf-8")
        head = text.split(marker)[0].rstrip() + "\n\n"
        rest = ""
        if marker in text:   # keep what follows the section (the next "## " heading on)
            after = text.split(marker, 1)[1]
            nxt = after.find("\n## ")
            rest = after[nxt + 1:] if nxt >= 0 else ""
        card.write_text(head + card_section(results, task) + ("\n" + rest if rest else ""), encoding="utf-8")
        done.append(card)
    return done


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", action="store_true", help="write the section into each model card")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "real_model_eval.json")
    a = ap.parse_args(argv)
    models = {t: load_model(t) for t in ("customer_intent", "agent_act")}
    thresholds = rule_thresholds(models)
    sets = {}
    for data, labels, name in SETS:
        d, l = ROOT / data, ROOT / labels
        if (d / "chats.jsonl").exists() and l.exists():
            sets[name] = score_set(d, l, models, thresholds)
    if not sets:
        raise SystemExit("no real-chat data: see bench/real_eval.md (the JDDC text is not in the repository)")
    macro = {}
    for task in models:
        f1s = [per[l]["rule"]["f1"] for res in sets.values() for per in res["by_labeller"].values()
               for l, (t, _, _) in LABELS.items() if t == task and per[l]["support"]]
        macro[task] = sum(f1s) / len(f1s) if f1s else 0.0
    results = {"models": {t: m.tag for t, m in models.items()}, "thresholds": thresholds, "sets": sets, "macro_f1": macro}
    a.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {a.out}")
    for name, res in sets.items():
        for who, per in res["by_labeller"].items():
            print(name, who, {l: round(per[l]["rule"]["f1"], 2) for l in per})
    print("mean F1:", {t: round(v, 3) for t, v in macro.items()})
    if a.cards:
        for c in write_cards(results, models):
            print("card:", c)


if __name__ == "__main__":
    main()
