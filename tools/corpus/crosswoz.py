"""CrossWOZ (thu-coai/CrossWOZ, Apache-2.0) -> ordinary, polite service turns for the
classifiers: the real-text counterweight to our template corpus.

    python -m tools.corpus.crosswoz --mirror /work/.mirror/thu-coai+CrossWOZ/repo

CrossWOZ is a Chinese task-oriented dialogue corpus (tourism: hotels, restaurants, sights,
metro, taxi), crowd-written by real people. Its system turns are helpful, neutral service
replies; its user turns are plain requests. Neither is rude, a complaint or bargaining —
which is exactly what the template-trained models got wrong on real JD chats (您好啊 read as
rude, 没有了 as a complaint). Labels: a system turn with an apology.txt phrase is `apology`
(CrossWOZ's 抱歉，没有符合… is an apology), any other system turn `other`; a user turn is
`other` unless it holds a complaint or bargaining cue (then it is left out: not ours to guess).
Split by dialogue: every 5th dialogue of the val and test files is held out (`test`).
Source and licence travel with every row; data/corpus/README.md and the model cards cite them.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import zipfile
from pathlib import Path

from qc import lexicon
from qc.text import normalize

OUT = Path(__file__).resolve().parents[2] / "data" / "corpus" / "external"
SOURCE = {"source": "CrossWOZ (github.com/thu-coai/CrossWOZ, data/crosswoz/{val,test}.json.zip)", "licence": "Apache-2.0"}


def _has(text: str, name: str) -> bool:
    t = normalize(text)
    return any(p in t for p in lexicon.load(name).phrases)


CAP = 4000


def _cap(rows: list[dict]) -> list[dict]:
    out, fams = [], set()
    for r in rows:
        if len(out) >= CAP and r["family"] not in fams:
            break
        fams.add(r["family"])
        out.append(r)
    return out


def build(mirror: str) -> dict:
    agent, customer = [], []
    for part in ("val", "test"):
        blob = subprocess.run(["git", "--git-dir", mirror, "show", f"HEAD:data/crosswoz/{part}.json.zip"],
                              capture_output=True, check=True).stdout
        z = zipfile.ZipFile(io.BytesIO(blob))
        dialogues = json.loads(z.read(z.namelist()[0]))
        for k, (did, d) in enumerate(sorted(dialogues.items())):
            split = "test" if k % 5 == 0 else "train"
            fam = f"crosswoz:{part}:{did}"
            for m in d["messages"]:
                text = m["content"].strip()
                if not text:
                    continue
                if m["role"] == "sys":
                    label = "apology" if _has(text, "apology") else "other"
                    agent.append({"text": text, "labels": [label], "split": split, "family": fam, "source": "crosswoz"})
                elif not (_has(text, "complaint") or _has(text, "bargain")):
                    customer.append({"text": text, "labels": ["other"], "split": split, "family": fam, "source": "crosswoz"})
    # at most CAP turns a task (whole dialogues, in order): as many neutral real turns as the
    # template corpus has utterances would drown its labels
    agent, customer = _cap(agent), _cap(customer)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rows in (("agent_act", agent), ("customer_intent", customer)):
        with (OUT / f"{name}.crosswoz.jsonl").open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    (OUT / "SOURCES.json").write_text(json.dumps(SOURCE, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return {"agent_act": len(agent), "customer_intent": len(customer)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", required=True)
    print(build(ap.parse_args().mirror))
