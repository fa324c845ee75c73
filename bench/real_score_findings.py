"""Score a findings export (`qc findings --format jsonl --no-mask`) of any tool version
against the blind labels — the "before" column of the real-chat table comes from the
findings of the version before the fix.

    python bench/real_score_findings.py bench/real/jddc-3b38b33/before_findings.jsonl bench/real_labels/jddc-3b38b33
"""

import json
import sys
from pathlib import Path

from qc.real_eval import RULES, load_labels, score

findings = [json.loads(l) for l in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines() if l]
labels = load_labels(Path(sys.argv[2]))
print("| rule | labeller | findings judged | true | precision | labelled positives | found | recall |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for rid in RULES:
    for who, lab in sorted(labels.items()):
        s = score(findings, lab)[rid]
        f = lambda v: "-" if v is None else f"{v:.2f}"
        print(f"| {rid} | {who} | {s.findings} | {s.tp} | {f(s.precision)} | {s.positives} | {s.found} | {f(s.recall)} |")
