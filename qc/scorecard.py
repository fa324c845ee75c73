"""Per-agent quality scores, KPIs and the weighted performance scorecard (绩效考核).

SQL computes the per-agent facts (qc/sql/quality_scores.sql, qc/sql/kpis.sql); this module
adds what needs the config: team averages, tier points, totals, pay and the quadrant.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from . import sqlfiles
from .config import load_config
from .errors import QCError
from .scorecard_config import INDICATORS, ScorecardConfig, load_scorecard_config, pay, total_points

QUADRANTS = {
    (True, True): ("合格且合适", "激励授权：适当激励和授权，培养为接班人"),
    (False, True): ("合适但不合格", "技能培训：加强技能培训，提升业务能力"),
    (True, False): ("合格但不合适", "专岗专用：强化意愿，安排专岗"),
    (False, False): ("不合格也不合适", "淘汰优化"),
}
REMEDIES = {
    "业务类": "业务类问题（产品/流程知识）→ 完善知识库、组织培训",
    "能力类": "能力类问题（销售技巧、共情）→ 案例复盘、优化话术",
    "态度类": "态度类问题 → 加强监督，必要时警告",
}


def period_bounds(period: str) -> tuple[date, date]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", period or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise QCError(f"--period 必须是 YYYY-MM (got {period!r})")
    y, mo = int(m.group(1)), int(m.group(2))
    start = date(y, mo, 1)
    end = date(y + (mo == 12), mo % 12 + 1, 1)
    return start, end


def compute_facts(con, period: str, cfg: ScorecardConfig | None = None) -> list[dict]:
    """Run the quality and KPI SQL for the period; one dict per agent."""
    cfg = cfg or load_scorecard_config()
    qc_cfg = load_config()
    start, end = period_bounds(period)
    q = cfg.quality
    # Two small config tables as bound VALUES: no pyarrow in the scorecard's process (its import
    # was 0.09 s of every `qc scorecard`), and the column types as pa.array would infer them.
    _values_table(con, "deduction_points", ("severity", "points"), list(q.deductions.items()))
    _values_table(con, "repeat_tiers", ("min_prior", "multiplier"), list(q.repeat_tiers))
    try:
        sqlfiles.run(con, "quality_scores.sql", {
            "start": start, "end": end, "window_days": q.window_days, "window_s": q.window_days * 86400,
            "rule_cap": q.rule_cap, "over": q.over,
        })
        sqlfiles.run(con, "kpis.sql", {
            "start": start, "end": end, "tz": qc_cfg.timezone,
            "attr_window_s": cfg.attribution_window_h * 3600,
            "slow_limit_s": qc_cfg.rule_params("slow_response")["limit_s"],
        })
    finally:
        con.execute("DROP TABLE IF EXISTS deduction_points")
        con.execute("DROP TABLE IF EXISTS repeat_tiers")
    cur = con.execute("SELECT * FROM kpis ORDER BY agent_id")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _sql_type(values) -> str:
    """BIGINT when every value is an int, else DOUBLE (config numbers are either); text VARCHAR."""
    if all(isinstance(v, str) for v in values):
        return "VARCHAR"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "BIGINT"
    return "DOUBLE"


def _values_table(con, name: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """TEMP TABLE `name` holding `rows`, every value a bound parameter."""
    types = [_sql_type([r[i] for r in rows]) for i in range(len(columns))]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in zip(columns, types))})")
    if rows:
        marks = ", ".join("(" + ", ".join("?" * len(columns)) + ")" for _ in rows)
        con.execute(f"INSERT INTO {name} VALUES {marks}", [v for r in rows for v in r])


def draw_spot_checks(con, period: str, rate: float, seed: int = 0, drawn_by: str = "qc spotcheck",
                     min_per_agent: int = 1) -> list[tuple[str, str]]:
    """抽检: draw `rate` of each agent's inspected conversations of the period (at least
    `min_per_agent`), deterministically from `seed`, into spot_checks. Returns the
    (agent_id, conversation_id) pairs drawn this time; conversations already drawn stay."""
    if not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1], got {rate}")
    start, end = period_bounds(period)
    rows = con.execute(
        """
        WITH pairs AS (
            SELECT DISTINCT unnest(agents) AS agent_id, conversation_id
            FROM conversations WHERE day >= ? AND day < ? AND NOT needs_inspection
        ), ranked AS (
            SELECT agent_id, conversation_id,
                   row_number() OVER (PARTITION BY agent_id ORDER BY hash(conversation_id || ?::VARCHAR), conversation_id) AS rn,
                   count(*) OVER (PARTITION BY agent_id) AS n
            FROM pairs
        )
        SELECT agent_id, conversation_id FROM ranked
        WHERE rn <= greatest(?, ceil(n * ?))
          AND conversation_id NOT IN (SELECT conversation_id FROM spot_checks)
        ORDER BY agent_id, conversation_id
        """,
        [start, end, seed, min_per_agent, rate],
    ).fetchall()
    if rows:
        con.executemany("INSERT OR IGNORE INTO spot_checks VALUES (?, ?, ?, now())",
                        [(c, period, drawn_by) for _, c in rows])
    return rows


def build_scorecard(facts: list[dict], period: str, cfg: ScorecardConfig | None = None,
                    team: str | None = None) -> list[dict]:
    """Team-relative indicators, tier points, totals, pay and quadrant for each agent.
    `team` (a shop id) limits the agents and the team averages to that shop."""
    cfg = cfg or load_scorecard_config()
    if team:
        facts = [f for f in facts if f["shop_id"] == team]
    # team averages per (shop, role group): 接待量 as a share of the team average
    groups: dict[tuple, list[dict]] = {}
    for f in facts:
        groups.setdefault((f["shop_id"], f["role_group"]), []).append(f)
    out = []
    for f in facts:
        peers = groups[(f["shop_id"], f["role_group"])]
        avg_conv = sum(p["conversations"] for p in peers) / len(peers)
        avg_sales = sum(p["sales"] for p in peers) / len(peers)
        values = dict(f)
        values["reception_share"] = f["conversations"] / avg_conv if avg_conv else None
        values["sales_share"] = f["sales"] / avg_sales if avg_sales else None
        card = cfg.scorecards.get(f["role_group"])
        row = {
            "agent_id": f["agent_id"], "period": period, "shop_id": f["shop_id"], "role_group": f["role_group"],
            "conversations": f["conversations"], "customers": f["customers"], "inquiries": f["inquiries"],
            "ordering_customers": f["ordering_customers"], "paying_customers": f["paying_customers"],
            "order_conversion": f["order_conversion"], "payment_conversion": f["payment_conversion"],
            "sales": round(f["sales"], 2), "avg_order_value": None if f["avg_order_value"] is None else round(f["avg_order_value"], 2),
            "avg_first_response_s": _r(f["avg_first_response_s"]), "avg_response_s": _r(f["avg_response_s"]),
            "answer_question_ratio": _r(f["answer_question_ratio"], 3),
            "slow_responses": f["slow_responses"], "slow_response_rate": _r(f["slow_response_rate"], 4),
            "refund_rate": None,  # no refund data in the input contract yet
            "reception_share": _r(values["reception_share"], 3),
            "quality_score": _r(f["quality_score"], 2), "quality_over": cfg.quality.over,
            "scored_conversations": f.get("scored_conversations") or 0,
            "findings_business": f["findings_business"], "findings_skill": f["findings_skill"],
            "findings_attitude": f["findings_attitude"], "redlines": f["redlines"],
        }
        indicator_points, indicator_values = {}, {}
        if card:
            pw = []
            for ind in card.indicators:
                pts = ind.points(values.get(ind.id))
                indicator_points[ind.id] = pts
                indicator_values[ind.id] = values.get(ind.id)
                pw.append((pts, ind.weight))
            tot = total_points(pw)
            mx = card.max_total
            commission = card.commission_rate * f["sales"]
            row.update(total_points=tot, max_points=mx, pay_share=round(tot / mx, 4) if mx else None,
                       base_pay=card.base_pay, performance_pay=round(card.full_performance_pay * tot / mx, 2) if mx else 0.0,
                       commission=round(commission, 2),
                       pay=round(pay(card.base_pay, card.full_performance_pay, tot, mx, commission), 2))
        else:
            row.update(total_points=None, max_points=None, pay_share=None, base_pay=None,
                       performance_pay=None, commission=None, pay=None)
        row["indicator_points"] = indicator_points
        row["indicator_values"] = indicator_values
        per100 = 100.0 * f["findings_attitude"] / f["conversations"] if f["conversations"] else 0.0
        row["attitude_per_100"] = round(per100, 2)
        cats = {"业务类": f["findings_business"], "能力类": f["findings_skill"], "态度类": f["findings_attitude"]}
        top = max(cats, key=cats.get)
        row["main_problem"] = top if cats[top] else None
        row["remedy"] = REMEDIES[top] if cats[top] else None
        out.append(row)
    _place_in_quadrants(out, cfg)
    return out


def _median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def _place_in_quadrants(rows: list[dict], cfg: ScorecardConfig) -> None:
    """合格 × 合适 for every row, with the bars that applied (shown on reports)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["shop_id"], r["role_group"]), []).append(r)
    for peers in groups.values():
        med_share = _median([p["pay_share"] for p in peers])
        med_att = _median([p["attitude_per_100"] for p in peers])
        for r in peers:
            q_bar = cfg.qualified_min_share
            f_bar = cfg.fitting_max_attitude_per_100
            if cfg.quadrant_mode == "relative":
                if med_share is not None:
                    q_bar = max(q_bar, med_share)
                if med_att is not None:
                    f_bar = med_att      # the team's median; a team of saints and one outlier still splits
            qualified = bool(r["pay_share"] is not None and r["pay_share"] >= q_bar)
            fitting = r["attitude_per_100"] <= f_bar and r["redlines"] == 0
            r["qualified_bar"] = round(q_bar, 4)
            r["fitting_bar"] = round(f_bar, 2)
            r["quadrant"], r["action"] = QUADRANTS[(qualified, fitting)]


def _r(v, nd=1):
    return None if v is None else round(float(v), nd)


def scorecard(con, period: str, team: str | None = None, cfg: ScorecardConfig | None = None) -> list[dict]:
    cfg = cfg or load_scorecard_config()
    return build_scorecard(compute_facts(con, period, cfg), period, cfg, team)


# Column headers for people (table / csv / xlsx): key -> 中文
COLUMNS = [
    ("agent_id", "客服"), ("shop_id", "店铺"), ("role_group", "岗位"), ("period", "周期"),
    ("conversations", "接待人数(会话)"), ("inquiries", "询单人数"), ("ordering_customers", "下单人数"),
    ("order_conversion", "下单转化率"), ("paying_customers", "付款人数"), ("payment_conversion", "付款转化率"),
    ("sales", "销售额"), ("avg_order_value", "客单价"), ("avg_first_response_s", "平均首响(秒)"),
    ("avg_response_s", "平均响应(秒)"), ("answer_question_ratio", "答问比"), ("slow_responses", "慢响应次数"),
    ("slow_response_rate", "慢响应率"), ("reception_share", "接待量/团队平均"), ("quality_score", "质检分"),
    ("scored_conversations", "质检分依据会话数"),
    ("findings_business", "业务类问题"), ("findings_skill", "能力类问题"), ("findings_attitude", "态度类问题"),
    ("redlines", "高压线"), ("total_points", "总分"), ("max_points", "满分"), ("pay_share", "绩效系数"),
    ("base_pay", "底薪"), ("performance_pay", "绩效工资"), ("commission", "提成"), ("pay", "应发工资"),
    ("quadrant", "评定"), ("action", "建议"), ("main_problem", "主要问题"), ("remedy", "改进方向"),
]


def write_xlsx(rows: list[dict], path, period: str, con=None) -> None:
    """The scorecard workbook (qc/reports.py): formatted numbers, Chinese headers and role
    names, per-indicator points, the indicator sheet, and the findings sheet when `con` is given."""
    from .reports import write_scorecard_xlsx

    write_scorecard_xlsx(rows, path, period, con=con)
