"""The generator is deterministic, and the rules find exactly the injected violations."""

import hashlib

from qc import store
from qc.evaluate import evaluate_ground_truth
from qc.ingest import ingest_paths
from qc.inspect import inspect
from qc.paths import ROOT
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
