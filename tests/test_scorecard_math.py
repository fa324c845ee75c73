"""The practice's worked examples, exactly; and bad scorecard config fails at load."""

import math

import pytest

from qc.errors import ConfigError
from qc.scorecard_config import Indicator, Tier, load_scorecard_config, pay, total_points


def test_worked_example_maximum_total_and_share():
    # four indicators with (max points, weight) = (10,10), (10,10), (8,8), (5,5)
    maxes = [(10, 10), (10, 10), (8, 8), (5, 5)]
    assert total_points(maxes) == 289
    got = [(9, 10), (9, 10), (7, 8), (4, 5)]
    assert total_points(got) == 256
    assert 256 / 289 == pytest.approx(0.8858, abs=1e-4)


def test_worked_example_pay():
    # base 2000 + full performance pay 2000 x 0.9 + commission 600 = 4400
    assert pay(2000, 2000, total=0.9, max_total=1.0, commission=600) == pytest.approx(4400)
    assert pay(2000, 2000, total=256, max_total=289, commission=600) == pytest.approx(2000 + 2000 * 256 / 289 + 600)


def test_shipped_presales_card_has_the_worked_maximum():
    card = load_scorecard_config().scorecards["presales"]
    assert [(i.max_points, i.weight) for i in card.indicators] == [(10, 10), (10, 10), (8, 8), (5, 5)]
    assert card.max_total == 289


def test_tiers_are_half_open_and_cover_everything():
    ind = Indicator("payment_conversion", 10, (Tier(-math.inf, 0.2, 3), Tier(0.2, 0.5, 7), Tier(0.5, math.inf, 10)))
    assert [ind.points(v) for v in (0.0, 0.1999, 0.2, 0.49, 0.5, 3.0)] == [3, 3, 7, 7, 10, 10]
    assert ind.points(None) == 0 and ind.max_points == 10


GOOD = """
quality:
  deductions: {low: 2, medium: 5, high: 10, redline: 100}
  rule_cap: 30
  repeat_offence: {window_days: 90, tiers: [{min_prior: 0, multiplier: 1}]}
scorecards:
  presales:
    base_pay: 3000
    full_performance_pay: 2000
    indicators:
      - indicator: quality_score
        weight: 5
        tiers:
          - {max: 90, points: 0}
          - {min: 90, points: 5}
"""


def test_good_config_loads(tmp_path):
    p = tmp_path / "sc.yaml"
    p.write_text(GOOD, encoding="utf-8")
    assert load_scorecard_config(p).scorecards["presales"].max_total == 25


@pytest.mark.parametrize("old,new,key", [
    ("        weight: 5\n", "", "scorecards.presales.indicators[0].weight"),                       # missing weight
    ("{min: 90, points: 5}", "{min: 85, points: 5}", "scorecards.presales.indicators[0].tiers"),   # overlap
    ("{min: 90, points: 5}", "{min: 95, points: 5}", "scorecards.presales.indicators[0].tiers"),   # gap
    ("indicator: quality_score", "indicator: happiness", "scorecards.presales.indicators[0].indicator"),
    ("{max: 90, points: 0}", "{min: 10, max: 90, points: 0}", "scorecards.presales.indicators[0].tiers"),  # gap below
    ("weight: 5", "weight: -5", "scorecards.presales.indicators[0].weight"),
    ("high: 10, ", "", "quality.deductions.high"),
])
def test_bad_config_names_file_and_key(tmp_path, old, new, key):
    p = tmp_path / "sc.yaml"
    assert old in GOOD
    p.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_scorecard_config(p)
    assert str(e.value).startswith(f"{p}:{key}:"), str(e.value)
