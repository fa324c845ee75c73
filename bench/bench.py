"""Scale benchmark: generate ~N messages, time `ingest` and `inspect` (rules only).

    python bench/bench.py --conversations 100000      # ~1M messages
    python bench/bench.py --conversations 100000 --out bench/out

Prints one JSON line with messages/s per stage and the slowest rule stage; writes
bench/out/result.json. Compare with bench/baseline.json (same machine kind only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qc import store  # noqa: E402
from qc.evaluate import evaluate_ground_truth  # noqa: E402
from qc.ingest import ingest_paths  # noqa: E402
from qc.inspect import inspect  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=Path("bench/out"))
    ap.add_argument("--keep-data", action="store_true")
    ap.add_argument("--no-models", action="store_true", help="rules on lexicons only (no classify stage)")
    args = ap.parse_args(argv)
    out = args.out
    data = out / "data"
    if out.exists():
        shutil.rmtree(out)
    data.mkdir(parents=True)
    # Generate in a child process so the measured process starts clean (no 1M dicts to
    # garbage-collect in the middle of the ingest timing).
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tools.sample", "--conversations", str(args.conversations),
                           "--seed", str(args.seed), "--out", str(data)], check=True, capture_output=True, text=True)
    counts = json.loads(proc.stdout)
    gen_s = time.perf_counter() - t
    con = store.connect(out / "bench.duckdb")
    t = time.perf_counter()
    rep = ingest_paths(con, [data / "chats.jsonl", data / "orders.jsonl"]).as_dict()
    ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    irep = inspect(con, all_=True, use_models=not args.no_models)
    inspect_s = time.perf_counter() - t
    scores = evaluate_ground_truth(con, data / "ground_truth.jsonl")
    msgs = counts["messages"]
    rule_stages = {k: v for k, v in irep.stages.items() if k.startswith("rule:")}
    stages = {k: v for k, v in irep.stages.items() if not k.startswith("rule:") and k not in ("total", "rules")}
    stages["rules"] = irep.stages["rules"]
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "messages": msgs,
        "conversations": counts["conversations"],
        "generate_s": round(gen_s, 2),
        "ingest_s": round(ingest_s, 2),
        "ingest_msg_per_s": round(msgs / ingest_s),
        "ingest_counts": {k: rep[k] for k in ("read", "ingested", "duplicate", "quarantined")},
        "models": not args.no_models,
        "inspect_s": round(inspect_s, 2),
        "inspect_msg_per_s": round(msgs / inspect_s),
        "inspect_stages_s": {k: round(v, 3) for k, v in stages.items()},
        "slowest_stage": max(stages, key=stages.get),
        "slowest_rule": max(rule_stages, key=rule_stages.get),
        "rule_stages_s": {k: round(v, 3) for k, v in rule_stages.items()},
        "findings": irep.findings,
        "precision_recall": {k: [round(s.precision, 4), round(s.recall, 4)] for k, s in sorted(scores.items())},
    }
    con.close()
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(json.dumps(result, ensure_ascii=False))
    if not args.keep_data:
        shutil.rmtree(data)


if __name__ == "__main__":
    main()
