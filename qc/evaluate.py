"""Measure the rules: precision and recall per rule against labeled conversations.

Two sources of truth:
* the hand-labeled cases in tests/rule_cases/<rule_id>.yaml (each file's `expect` lists the
  findings of that file's rule only, so a rule is scored on the cases written for it);
* a generated sample's ground_truth.jsonl (every rule scored on every conversation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from . import store
from .ingest import ingest_paths
from .inspect import inspect
from .errors import QCError
from .paths import CASES_DIR


# rude_tone is the classifier arm of the forbidden-expression practice (禁用语/态度): on a
# forbidden_phrase case, a rude_tone finding on the expected message counts as found, and
# one on a harmless message counts as a false positive.
RULE_ALIASES = {"forbidden_phrase": ("forbidden_phrase", "rude_tone")}


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    cases: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


KINDS = ("positive", "hard_negative", "paraphrase")


class CaseFileError(QCError):
    pass


def load_cases(directory: Path | None = None) -> dict[str, list[dict]]:
    """Every case file `<rule_id>.yaml` in `directory`: {rule_id: [case, ...]}. A file must
    name its own rule, and every case needs a unique `name` (its stable id) and a `kind`."""
    directory = Path(directory or CASES_DIR)
    out: dict[str, list[dict]] = {}
    for f in sorted(directory.glob("*.yaml")):
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CaseFileError(f"{f}: YAML 格式错误: {exc}") from None
        if doc.get("rule") != f.stem:
            raise CaseFileError(f"{f}: rule {doc.get('rule')!r} 与文件名不符 (a case file is named after its rule: "
                                f"{doc.get('rule')}.yaml)")
        names: set[str] = set()
        for i, case in enumerate(doc.get("cases") or [], start=1):
            name = case.get("name")
            if not name:
                raise CaseFileError(f"{f}: case {i}: 缺少 name (every case needs a stable name)")
            if name in names:
                raise CaseFileError(f"{f}: case {name!r}: 名称重复 (duplicate case name)")
            names.add(name)
            if case.get("kind") not in KINDS:
                raise CaseFileError(f"{f}: case {name!r}: kind {case.get('kind')!r} not in {KINDS}")
        out[f.stem] = list(doc.get("cases") or [])
    return out


def case_id(rule: str, case: dict) -> str:
    """A case's conversation id: from its name, so adding a case renumbers nothing."""
    return f"case:{rule}:{case['name']}"


def case_rows(rule: str, case: dict) -> tuple[str, list[dict], list[dict]]:
    conv = case["conversation"]
    cid = case_id(rule, case)
    start = datetime.fromisoformat(str(conv.get("start", "2026-11-03T10:00:00+08:00")))
    msgs = []
    for seq, m in enumerate(conv["messages"], start=1):
        msgs.append({
            "conversation_id": cid, "seq": seq,
            "ts": (start + timedelta(seconds=float(m["t"]))).isoformat(),
            "role": m["role"], "agent_id": m.get("agent_id"),
            "customer_id": conv.get("customer_id", f"buyer-{cid}"),
            "shop_id": conv.get("shop_id", "default"), "queue": conv.get("queue"),
            "text": m.get("text", ""), "msg_type": m.get("msg_type", "text"),
        })
    orders = []
    for o in conv.get("orders") or []:
        orders.append({
            "order_id": f"{cid}-{o['order_id']}",
            "customer_id": conv.get("customer_id", f"buyer-{cid}"),
            "shop_id": conv.get("shop_id", "default"), "agent_id": o.get("agent_id"),
            "created_at": (start + timedelta(seconds=float(o["t_created"]))).isoformat(),
            "paid_at": None if o.get("t_paid") is None else (start + timedelta(seconds=float(o["t_paid"]))).isoformat(),
            "amount": o.get("amount", 100.0),
        })
    return cid, msgs, orders


def evaluate_cases(workdir: Path, cases_dir: Path | None = None, kinds: tuple[str, ...] | None = None,
                   config=None, use_models: bool = True) -> tuple[dict[str, Score], dict[str, list[tuple]]]:
    """Load every case into a fresh DuckDB in workdir, inspect, and score each rule on its
    own file. Returns (scores, mistakes) where mistakes[rule] lists (case name, kind,
    expected seqs, found seqs)."""
    cases = load_cases(cases_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    chats, orders, expected, meta = [], [], {}, {}
    for rule, cs in cases.items():
        for c in cs:
            if kinds and c.get("kind") not in kinds:
                continue
            cid, m, o = case_rows(rule, c)
            chats.extend(m)
            orders.extend(o)
            expected[cid] = (rule, sorted((e.get("seq") for e in (c.get("expect") or [])), key=lambda x: (x is None, x)))
            meta[cid] = (c["name"], c.get("kind"))
    (workdir / "cases.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in chats) + "\n", encoding="utf-8")
    files = [workdir / "cases.jsonl"]
    if orders:
        (workdir / "orders.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in orders) + "\n", encoding="utf-8")
        files.append(workdir / "orders.jsonl")
    db = workdir / "eval.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    con = store.connect(db)
    rep = ingest_paths(con, files, config=config)
    if rep.total("quarantined"):
        bad = con.execute("SELECT file, line, field, reason FROM quarantine").fetchall()
        con.close()
        raise CaseFileError(f"labeled cases produced quarantined rows (a case is malformed): {bad[:3]}")
    inspect(con, all_=True, config=config, use_models=use_models)
    found: dict[tuple[str, str], list] = {}
    for cid, rule_id, seq in con.execute("SELECT conversation_id, rule_id, message_seq FROM findings").fetchall():
        found.setdefault((cid, rule_id), []).append(seq)
    con.close()
    scores: dict[str, Score] = {}
    mistakes: dict[str, list] = {}
    for cid, (rule, exp) in expected.items():
        s = scores.setdefault(rule, Score())
        s.cases += 1
        got = sorted({seq for r in RULE_ALIASES.get(rule, (rule,)) for seq in found.get((cid, r), [])},
                     key=lambda x: (x is None, x))
        remaining = list(got)
        tp = 0
        for e in exp:
            if e in remaining:
                remaining.remove(e)
                tp += 1
        s.tp += tp
        s.fn += len(exp) - tp
        s.fp += len(remaining)
        if len(exp) != tp or remaining:
            mistakes.setdefault(rule, []).append((meta[cid][0], meta[cid][1], exp, got))
    return scores, mistakes


def evaluate_ground_truth(con, truth_file: Path) -> dict[str, Score]:
    """Score findings in `con` against a generated sample's ground_truth.jsonl."""
    truth = set()
    for line in Path(truth_file).read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            truth.add((r["conversation_id"], r["rule_id"], r["message_seq"]))
    found = set(con.execute("SELECT conversation_id, rule_id, message_seq FROM findings WHERE source = 'rule'").fetchall())
    scores: dict[str, Score] = {}
    for rid in {t[1] for t in truth | found}:
        s = scores.setdefault(rid, Score())
        t = {x for x in truth if x[1] == rid}
        f = {x for x in found if x[1] == rid}
        s.tp, s.fp, s.fn = len(t & f), len(f - t), len(t - f)
    return scores
