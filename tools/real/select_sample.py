"""Choose the conversations a blind labeller reads, and write them in chunks.

    python -m tools.real.select_sample --data bench/real/jddc-3b38b33 --findings bench/real/jddc-3b38b33/before_findings.jsonl

The set (ids only) goes to bench/real_labels/<name>/label_set.json, committed; the chunk
files with the text stay in the data folder (research-only text is never committed):
* `random`: 150 conversations drawn at random (seed 2026) — recall, and precision of rare rules;
* `screen`: 50 more chosen by a keyword screen for complaints and curt replies — recall
  needs positives, and random draws hold few;
* `findings`: the conversations of up to 40 random findings per text rule of the tool
  version given (--findings), so every rule's precision rests on >= 40 judged findings.
Chunks mix the three in a shuffled order, so a labeller cannot tell why a conversation is
there (blind: the labeller never sees the tool's output).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

TEXT_RULES = ("missing_apology", "rude_tone", "forbidden_phrase", "bargain_followup_late", "emoji_only_reply",
              "repeated_quick_reply", "unanswered_question")
SCREEN_CUSTOMER = re.compile(r"坏|破|没收到|未收到|没有收到|慢|退款|投诉|差评|错了|发错|少了|漏发|不能用|质量|怎么还没|催|不满|生气|骗")
SCREEN_AGENT = re.compile(r"自己|不知道|没办法|不行|不能|不清楚|不是说了|看不到")


def load_convs(path: Path) -> dict[str, list[tuple[int, str, str]]]:
    convs: dict[str, list] = {}
    cur = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("=== "):
            cur = line[4:].strip()
            convs[cur] = []
        elif cur and line:
            seq, role, text = line.split("\t", 2)
            convs[cur].append((int(seq), role, text))
    return convs


def select(convs, findings, seed=2026, n_random=150, n_screen=50, per_rule=40, exclude=()):
    rng = random.Random(seed)
    ids = [c for c in convs if c not in set(exclude)]
    chosen: dict[str, str] = {}
    for c in rng.sample(ids, min(n_random, len(ids))):
        chosen[c] = "random"
    screened = [c for c in ids if c not in chosen and (
        any(r == "顾客" and SCREEN_CUSTOMER.search(t) for _, r, t in convs[c]) or
        any(r == "客服" and SCREEN_AGENT.search(t) for _, r, t in convs[c]))]
    for c in rng.sample(screened, min(n_screen, len(screened))):
        chosen[c] = "screen"
    by_rule: dict[str, list] = {}
    for f in findings:
        if f["rule_id"] in TEXT_RULES:
            by_rule.setdefault(f["rule_id"], []).append(f["conversation_id"])
    for rule in TEXT_RULES:
        fs = by_rule.get(rule, [])
        for c in rng.sample(fs, min(per_rule, len(fs))):
            chosen.setdefault(c, "findings")
    return chosen


def write_chunks(convs, ids, out: Path, n_chunks: int, seed=7, prefix="chunk"):
    order = list(ids)
    random.Random(seed).shuffle(order)
    paths = []
    for k in range(n_chunks):
        part = order[k::n_chunks]
        p = out / f"{prefix}{k + 1}.txt"
        with p.open("w", encoding="utf-8") as f:
            for c in part:
                f.write(f"=== {c}\n")
                for seq, role, text in convs[c]:
                    f.write(f"{seq}\t{role}\t{text}\n")
        paths.append((p, len(part)))
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--findings", type=Path, required=True)
    ap.add_argument("--labels", type=Path, default=Path("bench/real_labels/jddc-3b38b33"))
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--exclude", type=Path, default=None, help="label_set.json of an earlier round: draw only new conversations")
    ap.add_argument("--per-rule", type=int, default=40)
    ap.add_argument("--random", type=int, default=150)
    ap.add_argument("--screen", type=int, default=50)
    ap.add_argument("--name", default="label_set.json")
    ap.add_argument("--prefix", default="chunk")
    ap.add_argument("--source", default="JDDC 2019 sample, EndlessLethe/jddc2019-3th-retrieve-model@3b38b33 "
                                        "data/chat_0.1per.txt (research-only; text never committed)")
    a = ap.parse_args(argv)
    convs = load_convs(a.data / "conversations.txt")
    findings = [json.loads(l) for l in a.findings.read_text(encoding="utf-8").splitlines() if l]
    exclude = json.loads(a.exclude.read_text())["conversations"].keys() if a.exclude else ()
    chosen = select(convs, findings, per_rule=a.per_rule, n_random=a.random, n_screen=a.screen, exclude=exclude)
    a.labels.mkdir(parents=True, exist_ok=True)
    (a.labels / a.name).write_text(json.dumps({"source": a.source,
                                                "conversations": chosen}, ensure_ascii=False, indent=1), encoding="utf-8")
    for p, n in write_chunks(convs, chosen, a.data, a.chunks, prefix=a.prefix):
        print(p, n)
    from collections import Counter

    print(Counter(chosen.values()))


if __name__ == "__main__":
    main()
