"""Load and validate `config/qc.yaml`.

Bad config fails at load, naming the file and the key: a negative threshold or an
unknown rule must never silently turn a rule off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .errors import ConfigError
from .paths import CONFIG_FILE
from .rules import BY_ID as RULES_BY_ID

# The unattended runs (pipelines/): folders and cron schedules, in the shop timezone.
SCHEDULE_DEFAULTS: dict[str, dict[str, Any]] = {
    "nightly": {"cron": "0 2 * * *", "inbox": "data/inbox", "archive": "data/archive",
                "rejected": "data/rejected", "outbox": "data/outbox"},
    "shift": {"cron": "0 10-22/2 * * *"},       # 当班次数据 every 2 hours in working hours
    "monthly": {"cron": "0 3 1 * *"},           # the month's scorecard on the 1st
}


# The review console and `qc review` (qc/review.py, qc/web/): what a QC specialist picks from,
# who sees customers' phone numbers and addresses, and the spot-check (抽检) draw.
REVIEW_DEFAULTS: dict[str, Any] = {
    "dismiss_reasons": ["误判：语境不符", "误判：引用客户原话", "规则不适用此场景", "已按流程处理", "重复问题", "其他"],
    "mask_pii_roles": ["lead", "agent"],
    "sample_rate": 0.05,
    "sample_risk_per_agent": 2,
    "near_miss_share": 0.8,
    "page_size": 50,
}
ROLES = ("admin", "qc", "lead", "agent")


def _check_review(file, raw) -> dict[str, Any]:
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in REVIEW_DEFAULTS.items()}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        raise ConfigError(file, "review", "必须是映射 (must be a mapping)")
    for key, value in raw.items():
        k = f"review.{key}"
        if key not in REVIEW_DEFAULTS:
            raise ConfigError(file, k, f"未知配置项 (unknown key); known: {sorted(REVIEW_DEFAULTS)}")
        if key == "dismiss_reasons":
            if not isinstance(value, list) or not value or not all(isinstance(x, str) and x.strip() for x in value):
                raise ConfigError(file, k, "必须是非空字符串的列表 (must be a list of non-empty strings)")
        elif key == "mask_pii_roles":
            if not isinstance(value, list) or any(x not in ROLES for x in value):
                raise ConfigError(file, k, f"必须是角色列表 (must be a list of roles from {list(ROLES)}), got {value!r}")
        elif key in ("sample_rate", "near_miss_share"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ConfigError(file, k, f"必须在 0 到 1 之间 (must be a number in [0, 1]), got {value!r}")
        elif key in ("sample_risk_per_agent", "page_size"):
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "page_size" else 0):
                raise ConfigError(file, k, f"必须是非负整数 (must be a non-negative integer), got {value!r}")
        out[key] = value
    return out


@dataclass(frozen=True)
class Config:
    timezone: str = "Asia/Shanghai"
    shop_timezones: dict[str, str] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "<defaults>"
    schedules: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: dict(v) for k, v in SCHEDULE_DEFAULTS.items()})
    review: dict[str, Any] = field(default_factory=lambda: _check_review("-", None))

    def rule(self, rule_id: str) -> dict[str, Any]:
        return self.rules.get(rule_id, {})

    def rule_enabled(self, rule_id: str) -> bool:
        return bool(self.rule(rule_id).get("enabled", True))

    def rule_params(self, rule_id: str) -> dict[str, Any]:
        """The rule's declared defaults (qc/rules/<id>.py) overridden by this config."""
        rule = RULES_BY_ID[rule_id]
        return {**rule.defaults, **{k: v for k, v in self.rule(rule_id).items() if k != "enabled"}}


def _check_tz(file, key, value):
    if not isinstance(value, str):
        raise ConfigError(file, key, f"时区必须是字符串 (timezone must be a string), got {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(file, key, f"未知时区 (unknown timezone) {value!r}") from None


def load_config(path: str | Path | None = None) -> Config:
    path = Path(path) if path else CONFIG_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(path, "-", "配置文件不存在 (config file not found)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "-"
        raise ConfigError(path, where, f"YAML 格式错误: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(path, "-", "顶层必须是映射 (top level must be a mapping)")
    allowed = {"timezone", "shop_timezones", "rules", "review"} | set(SCHEDULE_DEFAULTS)
    for key in raw:
        if key not in allowed:
            raise ConfigError(path, key, f"未知配置项 (unknown key); allowed: {sorted(allowed)}")
    tz = raw.get("timezone", "Asia/Shanghai")
    _check_tz(path, "timezone", tz)
    shop_tz = raw.get("shop_timezones") or {}
    if not isinstance(shop_tz, dict):
        raise ConfigError(path, "shop_timezones", "必须是映射 (must be a mapping shop -> timezone)")
    for shop, z in shop_tz.items():
        _check_tz(path, f"shop_timezones.{shop}", z)
    rules = raw.get("rules") or {}
    if not isinstance(rules, dict):
        raise ConfigError(path, "rules", "必须是映射 (must be a mapping)")
    for rid, params in rules.items():
        # Rules and their parameters are declared in qc/rules/<id>.py; this file only
        # overrides them, and is checked against those declarations.
        rule = RULES_BY_ID.get(rid)
        if rule is None:
            raise ConfigError(path, f"rules.{rid}", f"未知规则 (unknown rule); known: {sorted(RULES_BY_ID)}")
        params = params or {}
        if not isinstance(params, dict):
            raise ConfigError(path, f"rules.{rid}", "必须是映射 (must be a mapping)")
        declared = {p.name: p for p in rule.params}
        for name, value in params.items():
            key = f"rules.{rid}.{name}"
            if name == "enabled":
                if not isinstance(value, bool):
                    raise ConfigError(path, key, f"必须是 true/false, got {value!r}")
            elif name in declared:
                problem = declared[name].check(value)
                if problem:
                    raise ConfigError(path, key, problem)
            else:
                raise ConfigError(path, key, f"未知参数 (unknown parameter); known: {list(declared) + ['enabled']}")
        rules[rid] = params
    schedules = {k: dict(v) for k, v in SCHEDULE_DEFAULTS.items()}
    for name, defaults in SCHEDULE_DEFAULTS.items():
        sec = raw.get(name) or {}
        if not isinstance(sec, dict):
            raise ConfigError(path, name, "必须是映射 (must be a mapping)")
        for key, value in sec.items():
            if key not in defaults:
                raise ConfigError(path, f"{name}.{key}", f"未知配置项 (unknown key); known: {sorted(defaults)}")
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(path, f"{name}.{key}", f"必须是非空字符串 (must be a non-empty string), got {value!r}")
            if key == "cron":
                _check_cron(path, f"{name}.cron", value)
            schedules[name][key] = value
    review = _check_review(path, raw.get("review"))
    return Config(timezone=tz, shop_timezones=dict(shop_tz), rules=rules, source=str(path), schedules=schedules,
                  review=review)


def _check_cron(file, key, value):
    fields = value.split()
    if len(fields) != 5 or not all(__import__("re").fullmatch(r"[0-9*,/\-]+", f) for f in fields):
        raise ConfigError(file, key, f"不是有效的 cron 表达式 (not a 5-field cron expression): {value!r}")
