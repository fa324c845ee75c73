"""Score the rules against blind labels on real chats (`qc eval --real FILE --labels PATH`).

Labels are one JSON object per conversation, the format of the labelling guide
(shared/real-chat-labelling-guide.md): complaints, apologies, rude, bargaining, emoji_only,
repeats [{seq, deduct}], unanswered. PATH is a .jsonl file or a folder of them; files named
`labeller_<X>*.jsonl` (or `labels_<X>_*.jsonl`) are labeller X, and every labeller is scored
on its own — agreement between them is reported, never averaged away.

How a finding is judged against a labeller (only findings in conversations that labeller
read count):
* missing_apology — the conversation has a complaint with no apology after it (labels).
* rude_tone, forbidden_phrase — the flagged agent message is labelled rude.
  `tone` = both together, the QC specialist's "态度" alarm.
* bargain_followup_late — the customer message it cites as bargaining is labelled
  bargaining (timestamps of the sample are synthetic: only the text half is judged).
* emoji_only_reply — the flagged reply is labelled emoji_only.
* repeated_quick_reply — the flagged message is a labelled repeat worth a deduction.
* unanswered_question — the conversation is labelled unanswered.
Recall: of the labelled positives (conversations for missing_apology and unanswered,
messages for the others), how many the rule flags.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import store
from .ingest import ingest_paths
from .inspect import inspect

RULES = ("missing_apology", "tone", "rude_tone", "forbidden_phrase", "bargain_followup_late", "emoji_only_reply",
         "repeated_quick_reply", "unanswered_question")


@dataclass
class RealScore:
    findings: int = 0          # findings in labelled conversations
    tp: int = 0
    positives: int = 0         # labelled positives
    found: int = 0             # labelled positives flagged
    false_alarms: list = field(default_factory=list)
    misses: list = field(default_factory=list)
    # missing_apology: which signal saw the complaint (evidence `signal`) -> [judged, true]
    by_signal: dict = field(default_factory=dict)

    @property
    def precision(self):
        return self.tp / self.findings if self.findings else None

    @property
    def recall(self):
        return self.found / self.positives if self.positives else None


def load_labels(path: Path) -> dict[str, dict[str, dict]]:
    """{labeller: {conversation_id: labels}}."""
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    out: dict[str, dict] = {}
    for f in files:
        m = re.match(r"(?:labeller|labels)_([A-Za-z0-9]+)", f.stem)
        who = m.group(1) if m else f.stem
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    d = json.loads(line)
                except json.JSONDecodeError as exc:
                    from .errors import QCError

                    raise QCError(f"{f}:{n}: 不是有效的 JSON (invalid JSON): {exc.msg}") from None
                out.setdefault(who, {})[d["conversation_id"]] = d
    return out


def gold_missing_apology(lab: dict) -> bool:
    apologies = lab.get("apologies") or []
    return any(not any(a > c for a in apologies) for c in lab.get("complaints") or [])


def _findings(con) -> list[dict]:
    rows = con.execute(
        "SELECT conversation_id, rule_id, message_seq, evidence FROM findings ORDER BY conversation_id, message_seq"
    ).fetchall()
    return [{"conversation_id": c, "rule_id": r, "message_seq": s, "evidence": json.loads(e) if e else None}
            for c, r, s, e in rows]


def score(findings: list[dict], labels: dict[str, dict], texts: dict | None = None) -> dict[str, RealScore]:
    texts = texts or {}
    out = {r: RealScore() for r in RULES}
    by_conv: dict[str, list] = {}
    for f in findings:
        by_conv.setdefault(f["conversation_id"], []).append(f)

    def note(s: RealScore, kind: str, conv, seq):
        (s.false_alarms if kind == "fp" else s.misses).append((conv, seq, texts.get((conv, seq), "")))

    for conv, lab in labels.items():
        fs = by_conv.get(conv, [])
        rude = set(lab.get("rude") or [])
        emoji = set(lab.get("emoji_only") or [])
        bargaining = set(lab.get("bargaining") or [])
        repeats = {r["seq"] for r in lab.get("repeats") or [] if r.get("deduct")}
        # per-finding precision
        for f in fs:
            rid, seq = f["rule_id"], f["message_seq"]
            if rid == "missing_apology":
                ok = gold_missing_apology(lab)
            elif rid in ("rude_tone", "forbidden_phrase"):
                ok = seq in rude
            elif rid == "bargain_followup_late":
                ok = (f["evidence"] or {}).get("bargain_seq") in bargaining
            elif rid == "emoji_only_reply":
                ok = seq in emoji
            elif rid == "repeated_quick_reply":
                ok = seq in repeats
            elif rid == "unanswered_question":
                ok = bool(lab.get("unanswered"))
            else:
                continue
            if rid == "missing_apology":
                sig = out[rid].by_signal.setdefault((f["evidence"] or {}).get("signal") or "?", [0, 0])
                sig[0] += 1
                sig[1] += ok
            for name in ((rid, "tone") if rid in ("rude_tone", "forbidden_phrase") else (rid,)):
                s = out[name]
                s.findings += 1
                s.tp += ok
                if not ok:
                    note(s, "fp", conv, seq)
        # recall
        flagged = {r: {f["message_seq"] for f in fs if f["rule_id"] == r} for r in RULES}
        tone_flagged = flagged["rude_tone"] | flagged["forbidden_phrase"]
        if gold_missing_apology(lab):
            s = out["missing_apology"]
            s.positives += 1
            s.found += bool(flagged["missing_apology"])
            if not flagged["missing_apology"]:
                note(s, "fn", conv, min(lab.get("complaints") or [None]))
        for seq in rude:
            for name, got in (("tone", tone_flagged), ("rude_tone", tone_flagged), ("forbidden_phrase", tone_flagged)):
                out[name].positives += 1
                out[name].found += seq in got
            if seq not in tone_flagged:
                note(out["tone"], "fn", conv, seq)
        for name, gold in (("emoji_only_reply", emoji), ("repeated_quick_reply", repeats)):
            for seq in gold:
                out[name].positives += 1
                out[name].found += seq in flagged[name]
                if seq not in flagged[name]:
                    note(out[name], "fn", conv, seq)
        if lab.get("unanswered"):
            s = out["unanswered_question"]
            s.positives += 1
            s.found += bool(flagged["unanswered_question"])
        if bargaining:
            # bargaining recall: conversations with labelled bargaining whose bargaining the
            # rule's cue/model detects is not observable from findings alone (only late
            # follow-ups are findings); not scored here.
            pass
    return out


def agreement(a: dict, b: dict) -> dict[str, dict]:
    """Per label kind, over conversations both labellers read: items both marked, only A,
    only B (messages; conversations for missing_apology and unanswered)."""
    out = {}
    common = sorted(set(a) & set(b))
    for kind in ("complaints", "apologies", "rude", "bargaining", "emoji_only", "repeats", "missing_apology", "unanswered"):
        both = only_a = only_b = 0
        for c in common:
            if kind == "missing_apology":
                x, y = {gold_missing_apology(a[c])} - {False}, {gold_missing_apology(b[c])} - {False}
            elif kind == "unanswered":
                x, y = {bool(a[c].get("unanswered"))} - {False}, {bool(b[c].get("unanswered"))} - {False}
            elif kind == "repeats":
                x = {r["seq"] for r in a[c].get("repeats") or [] if r.get("deduct")}
                y = {r["seq"] for r in b[c].get("repeats") or [] if r.get("deduct")}
            else:
                x, y = set(a[c].get(kind) or []), set(b[c].get(kind) or [])
            both += len(x & y)
            only_a += len(x - y)
            only_b += len(y - x)
        out[kind] = {"both": both, "only_a": only_a, "only_b": only_b, "conversations": len(common)}
    return out


def evaluate_real(chats: Path, labels_path: Path, use_models: bool = True, workdir: Path | None = None) -> dict:
    """Ingest + inspect the real chats in a scratch database, score every labeller."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(workdir or tmp) / "real.duckdb"
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        con = store.connect(db)
        ingest_paths(con, [chats])
        rep = inspect(con, all_=True, use_models=use_models)
        findings = _findings(con)
        texts = {(c, s): t for c, s, t in con.execute("SELECT conversation_id, seq, text FROM messages").fetchall()}
        agent_msgs = con.execute("SELECT count(*) FROM messages WHERE role = 'agent'").fetchall()[0][0]
        n_conv = con.execute("SELECT count(*) FROM conversations").fetchall()[0][0]
        con.close()
    labels = load_labels(labels_path)
    scores = {who: score(findings, lab, texts) for who, lab in labels.items()}
    tone = sum(1 for f in findings if f["rule_id"] in ("rude_tone", "forbidden_phrase"))
    who = sorted(labels)
    return {
        "conversations": n_conv, "agent_messages": agent_msgs, "models": rep.models, "notes": rep.notes,
        "findings_by_rule": rep.by_rule, "tone_alarm_rate": tone / agent_msgs if agent_msgs else 0.0,
        "labellers": {w: len(labels[w]) for w in who}, "scores": scores,
        "agreement": agreement(labels[who[0]], labels[who[1]]) if len(who) >= 2 else None,
    }
