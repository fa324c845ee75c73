"""The scorecard config (config/scorecard.yaml) and the scoring arithmetic.

Practice: each indicator is scored in tiers (档次) and multiplied by its weight;
total = Σ points × weight; maximum = Σ max points × weight; performance pay = full
performance pay × total / maximum; pay = base + performance pay + commission.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ConfigError
from .paths import SCORECARD_FILE


# indicator id -> (中文名, direction): higher is better (+1) or lower is better (-1)
INDICATORS: dict[str, tuple[str, int]] = {
    "reception_share": ("接待量（占团队平均）", 1),
    "inquiries": ("询单人数", 1),
    "order_conversion": ("下单转化率", 1),
    "payment_conversion": ("付款转化率", 1),
    "sales": ("销售额", 1),
    "sales_share": ("销售额（占团队平均）", 1),
    "avg_order_value": ("客单价", 1),
    "avg_first_response_s": ("平均首次响应时间(秒)", -1),
    "avg_response_s": ("平均响应时间(秒)", -1),
    "answer_question_ratio": ("答问比", 1),
    "slow_response_rate": ("慢响应率", -1),
    "quality_score": ("质检分", 1),
}
SEVERITIES = ("low", "medium", "high", "redline")


@dataclass(frozen=True)
class Tier:
    min: float  # inclusive; -inf when open
    max: float  # exclusive; +inf when open
    points: float


@dataclass(frozen=True)
class Indicator:
    id: str
    weight: float
    tiers: tuple[Tier, ...]

    @property
    def max_points(self) -> float:
        return max(t.points for t in self.tiers)

    def points(self, value: float | None) -> float:
        """Points for a value; a missing value (no data) scores 0."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return 0.0
        for t in self.tiers:
            if t.min <= value < t.max:
                return t.points
        return 0.0  # unreachable for validated (gap-free, open-ended) tiers


@dataclass(frozen=True)
class Scorecard:
    name: str
    base_pay: float
    full_performance_pay: float
    commission_rate: float
    indicators: tuple[Indicator, ...]

    @property
    def max_total(self) -> float:
        return sum(i.max_points * i.weight for i in self.indicators)


def total_points(points_and_weights: list[tuple[float, float]]) -> float:
    """Σ points × weight."""
    return sum(p * w for p, w in points_and_weights)


def pay(base: float, full_performance_pay: float, total: float, max_total: float, commission: float) -> float:
    """base + full performance pay × total / max total + commission."""
    share = total / max_total if max_total else 0.0
    return base + full_performance_pay * share + commission


@dataclass(frozen=True)
class QualityConfig:
    deductions: dict[str, float]
    rule_cap: float
    window_days: int
    repeat_tiers: tuple[tuple[int, float], ...]  # (min_prior, multiplier), ascending
    over: str

    def multiplier(self, prior: int) -> float:
        m = 1.0
        for min_prior, mult in self.repeat_tiers:
            if prior >= min_prior:
                m = mult
        return m


@dataclass(frozen=True)
class ScorecardConfig:
    quality: QualityConfig
    attribution_window_h: float
    qualified_min_share: float
    fitting_max_attitude_per_100: float
    scorecards: dict[str, Scorecard]
    source: str
    quadrant_mode: str = "relative"      # relative (to the team's median) | absolute


def _num(file, key, v, positive=False, allow_zero=True):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(file, key, f"必须是数字 (must be a number), got {v!r}")
    if v < 0 or (positive and v == 0 and not allow_zero):
        raise ConfigError(file, key, f"必须大于 0 (must be positive), got {v!r}")
    return float(v)


def _anynum(file, key, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(file, key, f"必须是数字 (must be a number), got {v!r}")
    return float(v)


def _req(file, d, key, where):
    if not isinstance(d, dict) or key not in d:
        raise ConfigError(file, f"{where}.{key}" if where else key, "缺少必填项 (missing)")
    return d[key]


def _tiers(file, key, raw) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(file, key, "档次必须是非空列表 (tiers must be a non-empty list)")
    tiers = []
    for i, t in enumerate(raw):
        k = f"{key}[{i}]"
        if not isinstance(t, dict):
            raise ConfigError(file, k, "每个档次必须是映射 {min, max, points}")
        unknown = set(t) - {"min", "max", "points"}
        if unknown:
            raise ConfigError(file, k, f"未知字段 (unknown keys) {sorted(unknown)}")
        lo = _anynum(file, f"{k}.min", t["min"]) if t.get("min") is not None else -math.inf
        hi = _anynum(file, f"{k}.max", t["max"]) if t.get("max") is not None else math.inf
        if "points" not in t:
            raise ConfigError(file, f"{k}.points", "缺少必填项 (missing)")
        pts = _num(file, f"{k}.points", t["points"])
        if not lo < hi:
            raise ConfigError(file, k, f"min 必须小于 max (empty range {lo}..{hi})")
        tiers.append(Tier(lo, hi, pts))
    tiers.sort(key=lambda t: t.min)
    if tiers[0].min != -math.inf:
        raise ConfigError(file, key, f"档次有缺口: 低于 {tiers[0].min} 的值没有档次 (gap below the first tier; leave its min out)")
    if tiers[-1].max != math.inf:
        raise ConfigError(file, key, f"档次有缺口: 不低于 {tiers[-1].max} 的值没有档次 (gap above the last tier; leave its max out)")
    for a, b in zip(tiers, tiers[1:]):
        if b.min < a.max:
            raise ConfigError(file, key, f"档次重叠 (overlapping tiers): [{a.min}, {a.max}) 与 [{b.min}, {b.max})")
        if b.min > a.max:
            raise ConfigError(file, key, f"档次有缺口 (gap between tiers): {a.max} 到 {b.min} 之间没有档次")
    return tuple(tiers)


def load_scorecard_config(path: str | Path | None = None) -> ScorecardConfig:
    file = Path(path) if path else SCORECARD_FILE
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(file, "-", "配置文件不存在 (file not found)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, "-", f"YAML 格式错误: {exc}") from None
    allowed = {"quality", "attribution_window_h", "quadrant", "scorecards"}
    for k in raw:
        if k not in allowed:
            raise ConfigError(file, k, f"未知配置项 (unknown key); allowed: {sorted(allowed)}")
    q = _req(file, raw, "quality", "")
    ded = _req(file, q, "deductions", "quality")
    for sev in SEVERITIES:
        if sev not in ded:
            raise ConfigError(file, f"quality.deductions.{sev}", "缺少必填项 (missing)")
    for sev in ded:
        if sev not in SEVERITIES:
            raise ConfigError(file, f"quality.deductions.{sev}", f"未知严重度; allowed: {SEVERITIES}")
    deductions = {s: _num(file, f"quality.deductions.{s}", ded[s]) for s in SEVERITIES}
    ro = _req(file, q, "repeat_offence", "quality")
    rtiers = []
    for i, t in enumerate(_req(file, ro, "tiers", "quality.repeat_offence")):
        k = f"quality.repeat_offence.tiers[{i}]"
        rtiers.append((int(_num(file, f"{k}.min_prior", _req(file, t, "min_prior", k))),
                       _num(file, f"{k}.multiplier", _req(file, t, "multiplier", k))))
    over = q.get("over", "inspected")
    if over not in ("inspected", "sampled"):
        raise ConfigError(file, "quality.over", f"必须是 inspected 或 sampled, got {over!r}")
    quality = QualityConfig(
        deductions=deductions,
        rule_cap=_num(file, "quality.rule_cap", _req(file, q, "rule_cap", "quality")),
        window_days=int(_num(file, "quality.repeat_offence.window_days", _req(file, ro, "window_days", "quality.repeat_offence"))),
        repeat_tiers=tuple(sorted(rtiers)),
        over=over,
    )
    quad = raw.get("quadrant") or {}
    mode = quad.get("mode", "relative")
    if mode not in ("relative", "absolute"):
        raise ConfigError(file, "quadrant.mode", f"必须是 relative 或 absolute (got {mode!r})")
    cards = {}
    for name, sc in (_req(file, raw, "scorecards", "") or {}).items():
        where = f"scorecards.{name}"
        if name not in ("presales", "aftersales"):
            raise ConfigError(file, where, "考核表名必须是 presales 或 aftersales")
        inds = []
        seen = set()
        for i, ind in enumerate(_req(file, sc, "indicators", where)):
            k = f"{where}.indicators[{i}]"
            iid = _req(file, ind, "indicator", k)
            if iid not in INDICATORS:
                raise ConfigError(file, f"{k}.indicator", f"未知指标 (unknown indicator) {iid!r}; known: {sorted(INDICATORS)}")
            if iid in seen:
                raise ConfigError(file, f"{k}.indicator", f"指标重复 (duplicate indicator) {iid!r}")
            seen.add(iid)
            if "weight" not in ind:
                raise ConfigError(file, f"{k}.weight", "缺少权重 (missing weight)")
            w = _num(file, f"{k}.weight", ind["weight"])
            if w <= 0:
                raise ConfigError(file, f"{k}.weight", f"权重必须大于 0 (must be positive), got {w}")
            inds.append(Indicator(iid, w, _tiers(file, f"{k}.tiers", _req(file, ind, "tiers", k))))
        cards[name] = Scorecard(
            name=name,
            base_pay=_num(file, f"{where}.base_pay", _req(file, sc, "base_pay", where)),
            full_performance_pay=_num(file, f"{where}.full_performance_pay", _req(file, sc, "full_performance_pay", where)),
            commission_rate=_num(file, f"{where}.commission_rate", sc.get("commission_rate", 0.0)),
            indicators=tuple(inds),
        )
    return ScorecardConfig(
        quality=quality,
        attribution_window_h=_num(file, "attribution_window_h", raw.get("attribution_window_h", 24)),
        qualified_min_share=_num(file, "quadrant.qualified_min_share", quad.get("qualified_min_share", 0.6)),
        fitting_max_attitude_per_100=_num(file, "quadrant.fitting_max_attitude_per_100", quad.get("fitting_max_attitude_per_100", 3.0)),
        scorecards=cards,
        source=str(file),
        quadrant_mode=mode,
    )
