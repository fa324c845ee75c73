"""The naive baseline: the six contract rules the way a typical analyst writes them — pandas,
`apply` per row, one `re.search` per phrase, Python loops for the timing rules. Read the whole
JSONL with pandas, no database.

    python bench/naive.py --chats data/sample/chats.jsonl --check     # agreement with qc, per rule
    python bench/naive.py --chats big/chats.jsonl --time-only         # one JSON line: seconds, msg/s

`--check` compares its findings (conversation, rule, flagged seq) with `qc inspect --no-models`
(the same lexicons, no classifiers) on the same file: on the bundled sample all six rules give
the same findings (tests/test_bench_naive.py keeps it so) — the baseline does the same work,
only the way an analyst would write it (short lexicon entries checked as whole jieba words,
the allow-list, service formulas and near-same repeats included).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LEX = ROOT / "lexicons"


def phrases(name: str) -> list[str]:
    out = []
    for line in (LEX / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line.split("|")[0].strip())
    return [p for p in out if p]


def has_any(text: str, plist: list[str]) -> bool:
    for p in plist:                      # one re.search per phrase
        if re.search(re.escape(p), text):
            return True
    return False


PUNCT = re.compile(r"[\s\W_]+")


def forbidden_hit(text: str, plist: list[str], allow: list[str]) -> bool:
    """qc's matching, the analyst's way: one re.search per phrase; an entry of 1–2 characters
    must be a whole jieba word (靠 in 靠连接 is not 靠); a hit inside an allow-list phrase is none."""
    import jieba

    words = None
    for p in plist:
        for m in re.finditer(re.escape(p), text):
            if any(a.find(p) >= 0 and text.find(a) >= 0 and text.find(a) <= m.start() < text.find(a) + len(a) for a in allow):
                continue
            if len(p) <= 2:
                if words is None:
                    words, pos = set(), 0
                    for w in jieba.lcut(text):
                        words.add((pos, pos + len(w)))
                        pos += len(w)
                if (m.start(), m.end()) not in words:
                    continue
            return True
    return False


def one_apart(a: str, b: str) -> bool:
    # the analyst writes their own (tools/sample has the same test for the generator): the
    # baseline must not borrow qc code, or it would not be a baseline
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    if len(a) > len(b):
        a, b = b, a
    return any(b[:i] + b[i + 1:] == a for i in range(len(b)))


def naive(chats: Path) -> pd.DataFrame:
    df = pd.read_json(chats, lines=True)
    df["ts"] = pd.to_datetime(df["ts"], utc=True, format="mixed")
    df = df.sort_values(["conversation_id", "seq"])
    forbidden, complaint, apology = phrases("forbidden"), phrases("complaint"), phrases("apology")
    bargain, ordered, ack = phrases("bargain"), phrases("ordered"), set(phrases("ack"))
    allow = phrases("allowlist")
    formulas = [re.compile(p) for p in phrases("service_formulas")]
    # row-wise flags
    df["is_forbidden"] = df.apply(lambda r: r["role"] == "agent" and forbidden_hit(str(r["text"]), forbidden, allow), axis=1)
    df["is_complaint"] = df.apply(lambda r: r["role"] == "customer" and has_any(str(r["text"]), complaint), axis=1)
    df["is_apology"] = df.apply(lambda r: r["role"] == "agent" and has_any(str(r["text"]), apology), axis=1)
    df["is_bargain"] = df.apply(lambda r: r["role"] == "customer" and has_any(str(r["text"]), bargain), axis=1)
    df["is_ordered"] = df.apply(lambda r: r["role"] == "customer" and (r.get("msg_type") == "order" or has_any(str(r["text"]), ordered)), axis=1)
    out = []
    for conv, g in df.groupby("conversation_id", sort=False):
        rows = g.to_dict("records")
        for r in rows:
            if r["is_forbidden"]:
                out.append((conv, "forbidden_phrase", r["seq"]))
        # slow_first_response: first customer message → first agent message after it
        first_c = next((r for r in rows if r["role"] == "customer"), None)
        if first_c is not None:
            first_a = next((r for r in rows if r["role"] == "agent" and r["seq"] > first_c["seq"]), None)
            if first_a is not None and (first_a["ts"] - first_c["ts"]).total_seconds() > 30:
                out.append((conv, "slow_first_response", first_a["seq"]))
        # slow_response: every round (first unanswered customer message → next agent message)
        start = None
        for r in rows:
            if r["role"] == "customer" and start is None:
                start = r
            elif r["role"] == "agent" and start is not None:
                if (r["ts"] - start["ts"]).total_seconds() > 60:
                    out.append((conv, "slow_response", r["seq"]))
                start = None
        # repeated_quick_reply: the same agent text (punctuation and spaces removed) again
        seen = []
        for r in rows:
            if r["role"] != "agent":
                continue
            key = PUNCT.sub("", re.sub(r"\[[^\]]{1,8}\]", "", str(r["text"])))
            if len(key) < 6 or str(r["text"]).strip() in ack or any(f.fullmatch(key) for f in formulas):
                continue
            if any(one_apart(key, k) for k in seen):
                out.append((conv, "repeated_quick_reply", r["seq"]))
            seen.append(key)
        # missing_apology: the first complaint with an agent answer after it and no apology after it
        for i, r in enumerate(rows):
            if r["is_complaint"]:
                after = [x for x in rows[i + 1:] if x["role"] == "agent"]
                if after and not any(x["is_apology"] for x in after):
                    out.append((conv, "missing_apology", r["seq"]))
                    break
        # bargain_followup_late: bargaining, the customer's last message L, the agent's answer A,
        # no order after the bargaining, no agent message within 300 s after A
        b = next((i for i, r in enumerate(rows) if r["is_bargain"]), None)
        if b is not None:
            last_c = max((i for i, r in enumerate(rows) if r["role"] == "customer"), default=None)
            a = next((i for i in range(last_c + 1, len(rows)) if rows[i]["role"] == "agent"), None) if last_c is not None else None
            if a is not None and not any(r["is_ordered"] for r in rows[b:]):
                follow = any(r["role"] == "agent" and 0 < (r["ts"] - rows[a]["ts"]).total_seconds() <= 300
                             for r in rows[a + 1:])
                if not follow:
                    out.append((conv, "bargain_followup_late", rows[a]["seq"]))
    return pd.DataFrame(out, columns=["conversation_id", "rule_id", "message_seq"]), len(df)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chats", type=Path, required=True)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--time-only", action="store_true")
    a = ap.parse_args()
    t = time.perf_counter()
    found, n = naive(a.chats)
    secs = time.perf_counter() - t
    if a.time_only or not a.check:
        print(json.dumps({"seconds": round(secs, 2), "messages": n, "msg_s": round(n / secs), "findings": len(found)}))
        return
    import tempfile

    sys.path.insert(0, str(ROOT))
    from qc import store
    from qc.ingest import ingest_paths
    from qc.inspect import inspect

    db = Path(tempfile.mkdtemp()) / "c.duckdb"
    con = store.connect(db)
    ingest_paths(con, [a.chats])
    inspect(con, use_models=False)
    qc_rows = set(map(tuple, con.execute(
        "SELECT f.conversation_id, f.rule_id, m.source_seq FROM findings f JOIN messages m "
        "ON m.conversation_id = f.conversation_id AND m.seq = f.message_seq").fetchall()))
    con.close()
    mine = set(map(tuple, found.itertuples(index=False)))
    report = {}
    for rule in sorted({r for _, r, _ in mine} | {"forbidden_phrase", "missing_apology", "bargain_followup_late",
                                                    "repeated_quick_reply", "slow_first_response", "slow_response"}):
        q = {x for x in qc_rows if x[1] == rule}
        m = {x for x in mine if x[1] == rule}
        report[rule] = {"qc": len(q), "naive": len(m), "both": len(q & m), "only_qc": len(q - m), "only_naive": len(m - q)}
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
