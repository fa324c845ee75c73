"""The generator is deterministic, and the rules find exactly the injected violations."""

import hashlib

import yaml

from qc import lexicon, store
from qc.evaluate import evaluate_ground_truth
from qc.ingest import ingest_paths
from qc.inspect import inspect
from qc.paths import ROOT
from qc.rules import BY_ID, REGISTRY
from tools.sample import generate


def digest(d):
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(d.iterdir())}


def test_generator_is_deterministic_and_matches_the_bundled_sample(tmp_path):
    a = generate(tmp_path / "a", conversations=300, seed=7)
    assert digest(tmp_path / "a") == digest(ROOT / "data" / "sample")
    assert a["conversations"] == 300 and a["messages"] > 2000 and all(v > 0 for v in a["violations"].values())


def test_rules_recover_the_injected_violations(tmp_path):
    generate(tmp_path / "s", conversations=1500, seed=21)
    con = store.connect(tmp_path / "s.duckdb")
    rep = ingest_paths(con, [tmp_path / "s" / "chats.jsonl", tmp_path / "s" / "orders.jsonl"]).as_dict()
    assert rep["quarantined"] == 0
    inspect(con, all_=True, use_models=False)
    scores = evaluate_ground_truth(con, tmp_path / "s" / "ground_truth.jsonl")
    assert len(scores) >= 9
    for rule, s in scores.items():
        assert s.precision >= 0.95 and s.recall >= 0.95, (rule, s)


def test_templates_file_loads_and_fits_the_lexicons():
    from tools.sample import generator as g

    data = yaml.safe_load(g.TEMPLATES_FILE.read_text(encoding="utf-8"))
    for name in ("CITIES", "COMMON_TOPICS", "SHOPS", "C_OPENERS", "A_URGE", "EMOJI", "QUICK_REPLIES", "NICKS",
                 "HOUR_WEIGHTS", "FORBIDDEN_PREFIX", "SLOT_VALUES"):
        assert data[name], name
    assert [s["code"] for s in g.SHOPS] == ["DH", "MJ", "GL", "YX"]
    for s in g.SHOPS:
        assert all(isinstance(x, float) for x in s["amount"])  # amounts are written as floats
        assert all(p.short in s["topics"] and p.lo <= p.hi for p in s["products"])
    assert g.validate_templates()


def test_forbidden_choices_are_the_lexicon_entries_as_written():
    from tools.sample import generator as g

    lex = lexicon.load("forbidden")
    choices = g._forbidden_choices()
    assert [lexicon.normalize_phrase(f.phrase) for f in choices] == lex.phrases
    assert [f.category for f in choices] == [e.fields["category"] for e in lex.entries]


def test_timing_keeps_its_margins_to_the_rule_defaults():
    from tools.sample import generator as g

    first = BY_ID["slow_first_response"].defaults["limit_s"]
    round_ = BY_ID["slow_response"].defaults["limit_s"]
    follow = BY_ID["bargain_followup_late"].defaults["window_s"]
    urge = BY_ID["late_urge_to_pay"].defaults["window_s"]
    min_chars = BY_ID["repeated_quick_reply"].defaults["min_chars"]
    assert g.FIRST_REPLY[1] < first < g.SLOW_FIRST_REPLY[0] and g.NUDGE_FIRST[1] < first
    assert g.ROUND_REPLY_MAX < round_ < g.SLOW_ROUND_REPLY[0] and g.NUDGE_LATER[1] < round_
    assert g.FOLLOWUP_OK[1] < follow < g.FOLLOWUP_LATE[0]
    assert g.FOLLOWUP_OK[1] + g.ROUND_REPLY_MAX + 60 < urge  # an urged order's 催付 follow-up is in time
    assert g.PAID_SOON[1] <= g.PAID_MAX < urge < g.LATE_PAID[0]
    assert g.QUICK_REPLY_MIN > min_chars
    assert all(len(g._norm_key(q)) >= g.QUICK_REPLY_MIN for q in g.QUICK_REPLIES)
    # with today's defaults these are the numbers data/sample was generated with
    assert (g.FIRST_REPLY, g.SLOW_FIRST_REPLY, g.NUDGE_FIRST, g.ROUND_REPLY_MAX, g.SLOW_ROUND_REPLY,
            g.NUDGE_LATER, g.FOLLOWUP_OK, g.FOLLOWUP_LATE, g.PAID_MAX, g.LATE_PAID) == (
        (3, 25), (35, 200), (15, 28), 58, (70, 400), (25, 55), (60, 240), (330, 900), 850, (1000, 7200))
    assert g.RULE_IDS == tuple(r for r in REGISTRY if r != "rude_tone")
