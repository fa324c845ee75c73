"""The benchmark's naive baseline does the same work as qc: on the bundled sample its six
contract rules give the findings of `qc inspect --no-models`, so the speed-up compares like
with like."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_naive_baseline_agrees_with_qc_on_the_sample():
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "naive.py"), "--chats", str(ROOT / "data" / "sample" / "chats.jsonl"),
                        "--check"], capture_output=True, text=True, check=True)
    report = json.loads(p.stdout[p.stdout.index("{"):])
    assert set(report) == {"forbidden_phrase", "missing_apology", "bargain_followup_late", "repeated_quick_reply",
                           "slow_first_response", "slow_response"}
    for rule, r in report.items():
        assert r["qc"] > 0 and r["only_qc"] == 0 and r["only_naive"] == 0, (rule, r)
