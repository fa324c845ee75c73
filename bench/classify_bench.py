"""Classification throughput on generated chat: both shipped models, tokenization included.

    python bench/classify_bench.py --conversations 100000     # ~1.07M messages

Generates a sample with qc.sample (not timed), then times `Model.predict_proba` on every
customer message (customer_intent) and every agent message (agent_act) — what the
inspect stage `classify` does. Reports messages/s over all messages, and also over the
distinct texts only: predict_proba classifies each distinct text once, and generated
chat repeats itself more than real chat does, so the distinct-text rate is the honest
worst case (a day in which no two messages are the same); `--all-distinct` measures exactly
that on the full 1M.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow.json as pj  # noqa: E402

from qc import classify, segment  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=Path("bench/out/classify.json"))
    ap.add_argument("--all-distinct", action="store_true",
                    help="worst case: make every message distinct (append ' #<n>') so nothing is deduplicated")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="qc-classify-bench-"))
    try:
        subprocess.run([sys.executable, "-m", "tools.sample", "--conversations", str(args.conversations),
                        "--seed", str(args.seed), "--out", str(tmp)], check=True, capture_output=True)
        tbl = pj.read_json(tmp / "chats.jsonl")
    finally:
        shutil.rmtree(tmp)
    roles = tbl.column("role").to_pylist()
    texts = tbl.column("text").to_pylist()
    result = {"machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
              "all_distinct": args.all_distinct,
              "messages": len(texts), "segmenter": segment.backend(), "models": {}}
    total_n = total_s = 0.0
    for task, role in (("customer_intent", "customer"), ("agent_act", "agent")):
        t = time.perf_counter()
        model = classify.load_model(task)
        model.predict_proba(["在吗", "能便宜点吗"])     # first call builds the automaton, loads the dictionary
        load_s = time.perf_counter() - t
        batch = [x for r, x in zip(roles, texts) if r == role]
        if args.all_distinct:
            batch = [f"{x} #{i}" for i, x in enumerate(batch)]
        distinct = len(set(batch))
        t = time.perf_counter()
        model.predict_proba(batch)
        s = time.perf_counter() - t
        total_n += len(batch)
        total_s += s
        result["models"][task] = {"model": model.tag, "backend": model.backend, "load_and_warm_s": round(load_s, 2),
                                  "messages": len(batch), "distinct_texts": distinct, "seconds": round(s, 2),
                                  "msg_per_s": round(len(batch) / s), "distinct_per_s": round(distinct / s)}
    result["classified_messages"] = int(total_n)
    result["classify_s"] = round(total_s, 2)
    result["msg_per_s"] = round(total_n / total_s)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
