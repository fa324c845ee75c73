"""One runner for every rule's labeled cases (tests/rule_cases/<rule_id>.yaml).

positive and hard_negative cases must come out exactly as labeled. paraphrase cases
(phrasings outside the lexicons) measure recall beyond the lexicon: they are scored by
`qc eval --kind paraphrase`, not asserted here.
"""

import pytest

from qc.evaluate import evaluate_cases, load_cases
from qc.rules import RULES


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return evaluate_cases(tmp_path_factory.mktemp("cases"), kinds=("positive", "hard_negative"))


@pytest.mark.parametrize("rule_id", [r.id for r in RULES])
def test_rule_cases(results, rule_id):
    if rule_id == "rude_tone":
        from qc.classify import latest_meta

        # rude_tone is the act model's rule, and the model ships in models/: must be there
        assert latest_meta("agent_act") is not None, "rude_tone needs the agent_act model in models/ (qc train)"
    scores, mistakes = results
    assert rule_id in scores, f"no cases for {rule_id}"
    assert mistakes.get(rule_id, []) == [], "\n".join(
        f"{name} ({kind}): expected seqs {exp}, found {got}" for name, kind, exp, got in mistakes[rule_id])


def test_case_set_shape():
    cases = load_cases()
    total = sum(len(c) for c in cases.values())
    assert total >= 80
    for rule, cs in cases.items():
        kinds = [c.get("kind") for c in cs]
        assert set(kinds) <= {"positive", "hard_negative", "paraphrase"}, rule
        assert kinds.count("hard_negative") * 2 >= kinds.count("positive") + kinds.count("hard_negative"), rule
