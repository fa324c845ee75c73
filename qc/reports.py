"""Team-lead reports (组长/主管): the scorecard workbook, and per-agent / team reports in HTML
and Excel.

Everything here reads the findings layer (qc/findings.py) and the scorecard (qc/scorecard.py);
nothing recomputes a rule. Chat text is hostile: HTML is escaped (html.escape on every value,
no raw insertion), spreadsheet cells are neutralised (qc.safety.for_sheet), and phones, ID
numbers and addresses are masked (qc.pii) — a report leaves the team.

Charts are inline SVG written here (no CDN, no JavaScript: the file opens offline, prints, and
can be mailed).
"""

from __future__ import annotations

import html
import unicodedata
from datetime import date
from pathlib import Path

from . import findings as F
from .pii import mask
from .rules import BY_ID as RULES
from .safety import for_sheet
from .scorecard import COLUMNS, REMEDIES
from .scorecard_config import INDICATORS

ROLE_ZH = {"presales": "售前", "aftersales": "售后"}
STATUS_ZH = F.STATUS_ZH
# Column kinds for number formats (Excel shows 56% and ¥1,299.00, not 0.56 and 1299).
PERCENT = {"order_conversion", "payment_conversion", "slow_response_rate", "pay_share", "answer_question_ratio_pct"}
MONEY = {"sales", "avg_order_value", "base_pay", "performance_pay", "commission", "pay"}
SECONDS = {"avg_first_response_s", "avg_response_s"}
RATIO = {"reception_share", "answer_question_ratio"}
POINTS = {"total_points", "max_points", "quality_score"}


def display_width(s) -> int:
    """Columns a text takes in a terminal or a spreadsheet: CJK characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in str(s or ""))


# --------------------------------------------------------------------------- workbook


def _fit(ws, min_w=8, max_w=60):
    for col in ws.columns:
        w = max(display_width(c.value if not isinstance(c.value, float) else f"{c.value:,.2f}") for c in col)
        ws.column_dimensions[col[0].column_letter].width = max(min_w, min(max_w, w + 2))


def _header(ws, names):
    from openpyxl.styles import Alignment, Font, PatternFill

    ws.append(list(names))
    for c in ws[ws.max_row]:
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="DDEBF7")
        c.alignment = Alignment(vertical="center")


def _format(cell, key):
    if key in PERCENT:
        cell.number_format = "0.0%"
    elif key in MONEY:
        cell.number_format = '"¥"#,##0.00'
    elif key in SECONDS:
        cell.number_format = "0.0"
    elif key in RATIO:
        cell.number_format = "0.00"
    elif key in POINTS:
        cell.number_format = "0.0"


def scorecard_sheet(wb, rows: list[dict], period: str, title: str | None = None):
    ws = wb.create_sheet(title or f"绩效考核 {period}")
    inds = sorted({k for r in rows for k in (r.get("indicator_points") or {})}, key=list(INDICATORS).index)
    keys = [k for k, _ in COLUMNS]
    names = [zh for _, zh in COLUMNS] + [f"得分·{INDICATORS[i][0]}" for i in inds] + ["合格线(总分/满分)", "合适线(态度类/百会话)"]
    _header(ws, names)
    for r in rows:
        vals = []
        for k in keys:
            v = r.get(k)
            if k == "role_group":
                v = ROLE_ZH.get(v, v)
            vals.append(for_sheet(v))
        vals += [r.get("indicator_points", {}).get(i) for i in inds]
        vals += [r.get("qualified_bar"), r.get("fitting_bar")]
        ws.append(vals)
        for c, k in zip(ws[ws.max_row], keys + [None] * len(inds) + ["pay_share", None]):
            if k:
                _format(c, k)
    ws.freeze_panes = "B2"
    _fit(ws)
    return ws


def indicator_sheet(wb, cfg):
    ws = wb.create_sheet("指标说明")
    _header(ws, ["岗位", "指标", "方向", "权重", "档次（区间 → 得分）"])
    for name, card in cfg.scorecards.items():
        for ind in card.indicators:
            zh, direction = INDICATORS[ind.id]
            tiers = "；".join(f"{'' if t.min == float('-inf') else t.min}–{'' if t.max == float('inf') else t.max} → {t.points}"
                             for t in ind.tiers)
            ws.append([ROLE_ZH.get(name, name), zh, "越高越好" if direction > 0 else "越低越好", ind.weight, tiers])
    ws.append([])
    ws.append(["评定（合格 × 合适）",
               "合格：总分/满分不低于本团队（同店铺同岗位）中位数，且不低于 "
               f"{cfg.qualified_min_share:.0%}；合适：态度类问题每百会话不高于团队中位数，且无高压线"
               if cfg.quadrant_mode == "relative" else
               f"合格：总分/满分 ≥ {cfg.qualified_min_share:.0%}；合适：态度类问题每百会话 ≤ "
               f"{cfg.fitting_max_attitude_per_100}，且无高压线"])
    _fit(ws, max_w=90)
    return ws


def findings_sheet(wb, con, period: str, agent: str | None = None, shop: str | None = None, limit: int = 2000):
    ws = wb.create_sheet("问题明细")
    _header(ws, ["日期", "会话", "消息序号", "客服", "规则", "类别", "严重度", "复核状态", "说明", "消息原文（已脱敏）"])
    rows = [f for f in F.query(con) if f.day and f.day.strftime("%Y-%m") == period
            and (agent is None or f.agent_id == agent) and (shop is None or f.shop_id == shop)]
    rows.sort(key=lambda f: (-F.SEVERITY_ORDER.get(f.severity, 0), str(f.day), f.conversation_id))
    texts = _message_texts(con, rows[:limit])
    for f in rows[:limit]:
        ws.append([for_sheet(v) for v in (
            f.day, f.conversation_id, f.message_seq, f.agent_id, RULES[f.rule_id].name if f.rule_id in RULES else f.rule_id,
            f.category, f.severity, STATUS_ZH.get(f.review_status, f.review_status), mask(f.explanation),
            mask(texts.get((f.conversation_id, f.message_seq), "")))])
    ws.freeze_panes = "A2"
    _fit(ws, max_w=70)
    return ws


def _message_texts(con, fs) -> dict:
    keys = {(f.conversation_id, f.message_seq) for f in fs if f.message_seq is not None}
    if not keys:
        return {}
    rows = con.execute(
        "SELECT conversation_id, seq, text FROM messages WHERE (conversation_id, seq) IN (SELECT unnest(?), unnest(?))",
        [[k[0] for k in keys], [k[1] for k in keys]]).fetchall()
    return {(c, s): t for c, s, t in rows}


def write_scorecard_xlsx(rows: list[dict], path, period: str, con=None, cfg=None) -> None:
    from openpyxl import Workbook

    from .scorecard_config import load_scorecard_config

    wb = Workbook()
    wb.remove(wb.active)
    scorecard_sheet(wb, rows, period)
    indicator_sheet(wb, cfg or load_scorecard_config())
    if con is not None:
        findings_sheet(wb, con, period)
    wb.save(path)


# --------------------------------------------------------------------------- HTML

E = html.escape


def _svg_bars(items: list[tuple[str, float]], width=520, bar_h=22, color="#4472c4", fmt="{:.0f}") -> str:
    if not items:
        return "<p class=muted>（无数据）</p>"
    top = max(v for _, v in items) or 1
    h = bar_h * len(items) + 10
    out = [f'<svg width="{width}" height="{h}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, v) in enumerate(items):
        y = 5 + i * bar_h
        w = (width - 220) * v / top
        out.append(f'<text x="0" y="{y + 15}" font-size="12">{E(str(label))}</text>'
                   f'<rect x="170" y="{y + 3}" width="{w:.1f}" height="{bar_h - 8}" fill="{color}"/>'
                   f'<text x="{175 + w:.1f}" y="{y + 15}" font-size="12">{E(fmt.format(v))}</text>')
    out.append("</svg>")
    return "".join(out)


def _svg_line(points: list[tuple[str, float]], width=520, height=160, lo=None, hi=None) -> str:
    if not points:
        return "<p class=muted>（无数据）</p>"
    vals = [v for _, v in points]
    lo = min(vals) if lo is None else lo
    hi = max(vals) if hi is None else hi
    span = (hi - lo) or 1
    n = len(points)
    xs = [40 + (width - 60) * (i / max(1, n - 1)) for i in range(n)]
    ys = [height - 25 - (height - 45) * (v - lo) / span for v in vals]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(zip(xs, ys)))
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#c00000"><title>{E(str(d))}: {v:.1f}</title></circle>'
                   for x, y, (d, v) in zip(xs, ys, points))
    labels = f'<text x="40" y="{height - 5}" font-size="11">{E(str(points[0][0]))}</text>' \
             f'<text x="{width - 100}" y="{height - 5}" font-size="11">{E(str(points[-1][0]))}</text>' \
             f'<text x="0" y="20" font-size="11">{hi:.0f}</text><text x="0" y="{height - 25}" font-size="11">{lo:.0f}</text>'
    return (f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<path d="{path}" fill="none" stroke="#c00000" stroke-width="2"/>{dots}{labels}</svg>')


def _svg_quadrant(rows: list[dict], width=420, height=320) -> str:
    """合格 (x: total / max) × 合适 (y: 态度类 per 100 conversations, lower is better)."""
    if not rows:
        return "<p class=muted>（无数据）</p>"
    xs = [r.get("pay_share") or 0 for r in rows]
    ys = [r.get("attitude_per_100") or 0 for r in rows]
    xmax, ymax = max(1.0, max(xs)), max(1.0, max(ys) * 1.1)
    qbar = _median_of([r.get("qualified_bar") for r in rows])
    fbar = _median_of([r.get("fitting_bar") for r in rows])
    X = lambda v: 40 + (width - 60) * v / xmax
    Y = lambda v: 20 + (height - 50) * v / ymax
    out = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
           f'<rect x="40" y="20" width="{width - 60}" height="{height - 50}" fill="none" stroke="#999"/>']
    if qbar is not None:
        out.append(f'<line x1="{X(qbar):.1f}" y1="20" x2="{X(qbar):.1f}" y2="{height - 30}" stroke="#888" stroke-dasharray="4"/>')
    if fbar is not None:
        out.append(f'<line x1="40" y1="{Y(fbar):.1f}" x2="{width - 20}" y2="{Y(fbar):.1f}" stroke="#888" stroke-dasharray="4"/>')
    out.append(f'<text x="{width - 150}" y="34" font-size="11">合格且合适 ↗</text>')
    for r, x, y in zip(rows, xs, ys):
        out.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="5" fill="#4472c4"><title>{E(str(r["agent_id"]))} '
                   f'{E(r["quadrant"])}</title></circle><text x="{X(x) + 7:.1f}" y="{Y(y) + 4:.1f}" font-size="10">'
                   f'{E(str(r["agent_id"]).split(":")[-1])}</text>')
    out.append(f'<text x="40" y="{height - 8}" font-size="11">总分/满分 →（合格）</text>'
               f'<text x="{width - 170}" y="{height - 8}" font-size="11">↓ 态度类问题/百会话（越低越合适）</text></svg>')
    return "".join(out)


def _median_of(xs):
    xs = sorted(x for x in xs if x is not None)
    return None if not xs else xs[len(xs) // 2]


def _heat(rules: list[str], agents: list[str], counts: dict) -> str:
    top = max(counts.values(), default=0) or 1
    head = "".join(f"<th>{E(RULES[r].name if r in RULES else r)}</th>" for r in rules)
    body = []
    for a in agents:
        cells = []
        for r in rules:
            n = counts.get((a, r), 0)
            alpha = 0.1 + 0.9 * n / top if n else 0
            cells.append(f'<td style="background: rgba(192,0,0,{alpha:.2f})">{n or ""}</td>')
        body.append(f"<tr><th>{E(a)}</th>{''.join(cells)}</tr>")
    return f"<table class=heat><tr><th>客服 \\ 规则</th>{head}</tr>{''.join(body)}</table>"


CSS = """body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
td.num{text-align:right}.muted{color:#888}.heat td{text-align:center;min-width:28px}
.ex{background:#f7f7f7;padding:8px;margin:6px 0;font-size:13px}.flag{background:#ffd7d7}"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>{E(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{E(title)}</h1>{body}"
            f"<p class=muted>生成于 {date.today()} · 手机号、身份证号和地址已脱敏 · 质检规则见 docs/rules.md</p></body></html>")


def _fmt(k, v):
    if v is None:
        return "-"
    if k in PERCENT:
        return f"{v:.1%}"
    if k in MONEY:
        return f"¥{v:,.2f}"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def _daily_quality(con, period: str, agent: str | None = None, shop: str | None = None) -> list[tuple[str, float]]:
    from .scorecard import period_bounds

    start, end = period_bounds(period)
    sql = ("SELECT day, avg(score) FROM quality_scores WHERE 1=1" + (" AND agent_id = ?" if agent else "")
           + " GROUP BY day ORDER BY day")
    try:
        rows = con.execute(sql, [agent] if agent else []).fetchall()
    except Exception:
        return []
    return [(str(d), float(s)) for d, s in rows if start <= d < end]


def _examples(con, fs: list, n: int = 5) -> str:
    """The worst findings with their flagged message in context (two messages before, one
    after), PII masked, everything escaped."""
    out = []
    for f in sorted(fs, key=lambda f: -F.SEVERITY_ORDER.get(f.severity, 0))[:n]:
        tr = F.transcript(con, f.conversation_id)
        if tr is None:
            continue
        seq = f.message_seq or (tr.messages[-1].seq if tr.messages else 0)
        lines = []
        for m in tr.messages:
            if seq - 2 <= m.seq <= seq + 1:
                who = {"customer": "顾客", "agent": "客服", "bot": "机器人", "system": "系统"}.get(m.role, m.role)
                cls = ' class="flag"' if m.seq == f.message_seq else ""
                lines.append(f"<div{cls}>{m.seq} {E(who)}：{E(mask(m.text))}</div>")
        out.append(f"<div class=ex><b>{E(RULES[f.rule_id].name if f.rule_id in RULES else f.rule_id)}</b> · "
                   f"{E(f.severity)} · {E(STATUS_ZH.get(f.review_status, f.review_status))} · 会话 {E(f.conversation_id)}"
                   f"<br>{E(mask(f.explanation))}{''.join(lines)}</div>")
    return "".join(out) or "<p class=muted>（本期没有问题）</p>"


def agent_report_html(con, rows: list[dict], agent: str, period: str) -> str:
    me = next((r for r in rows if r["agent_id"] == agent), None)
    if me is None:
        from .errors import QCError

        raise QCError(f"{period} 没有客服 {agent!r} 的考核数据 (no scorecard row for this agent in the period)")
    team = [r for r in rows if r["shop_id"] == me["shop_id"] and r["role_group"] == me["role_group"]]
    fs = [f for f in F.query(con, F.Filter(agent=agent)) if f.day and f.day.strftime("%Y-%m") == period and f.counts]
    by_rule: dict[str, int] = {}
    by_cat: dict[str, int] = {}
    for f in fs:
        by_rule[f.rule_id] = by_rule.get(f.rule_id, 0) + 1
        by_cat[f.category] = by_cat.get(f.category, 0) + 1
    kpis = ["conversations", "inquiries", "order_conversion", "payment_conversion", "sales", "avg_order_value",
            "avg_first_response_s", "avg_response_s", "answer_question_ratio", "slow_responses", "quality_score",
            "total_points", "max_points", "pay"]
    names = dict(COLUMNS)
    med = {k: _median_of([r.get(k) for r in team if isinstance(r.get(k), (int, float))]) for k in kpis}
    kpi_rows = "".join(f"<tr><th>{E(names.get(k, k))}</th><td class=num>{E(_fmt(k, me.get(k)))}</td>"
                       f"<td class=num>{E(_fmt(k, med[k]))}</td></tr>" for k in kpis)
    points = "".join(f"<tr><th>{E(INDICATORS[i][0])}</th><td class=num>{p}</td></tr>"
                     for i, p in (me.get("indicator_points") or {}).items())
    cats = "".join(f"<tr><th>{E(c)}</th><td class=num>{n}</td><td>{E(REMEDIES.get(c, ''))}</td></tr>"
                   for c, n in sorted(by_cat.items(), key=lambda x: -x[1]))
    body = (
        f"<p>店铺 {E(me['shop_id'])} · 岗位 {E(ROLE_ZH.get(me['role_group'], me['role_group']))} · 周期 {E(period)} · "
        f"评定 <b>{E(me['quadrant'])}</b>（{E(me['action'])}）</p>"
        f"<p class=muted>评定依据：合格线 总分/满分 ≥ {me.get('qualified_bar', 0):.0%}（本人 {(me.get('pay_share') or 0):.0%}）；"
        f"合适线 态度类问题 ≤ {me.get('fitting_bar')} 次/百会话（本人 {me.get('attitude_per_100')}），且无高压线。</p>"
        f"<h2>质检分趋势（按日）</h2>{_svg_line(_daily_quality(con, period, agent), lo=0, hi=100)}"
        f"<h2>问题：按规则</h2>{_svg_bars(sorted(((RULES[r].name if r in RULES else r, n) for r, n in by_rule.items()), key=lambda x: -x[1]))}"
        f"<h2>问题：按类别与改进方向</h2><table><tr><th>类别</th><th>数量</th><th>改进方向</th></tr>{cats}</table>"
        f"<h2>核心数据（与团队中位数对比）</h2><table><tr><th>指标</th><th>本人</th><th>团队中位数</th></tr>{kpi_rows}</table>"
        f"<h2>考核得分</h2><table><tr><th>指标</th><th>得分</th></tr>{points}</table>"
        f"<h2>典型问题（含上下文）</h2>{_examples(con, fs)}"
    )
    return _page(f"客服质检报告 · {agent} · {period}", body)


def team_report_html(con, rows: list[dict], period: str, team: str | None = None) -> str:
    rows = sorted(rows, key=lambda r: -(r.get("total_points") or 0))
    rank = "".join(
        f"<tr><td class=num>{i}</td><th>{E(r['agent_id'])}</th><td>{E(ROLE_ZH.get(r['role_group'], r['role_group']))}</td>"
        f"<td class=num>{E(_fmt('quality_score', r.get('quality_score')))}</td>"
        f"<td class=num>{E(_fmt('payment_conversion', r.get('payment_conversion')))}</td>"
        f"<td class=num>{E(_fmt('total_points', r.get('total_points')))}</td><td class=num>{E(_fmt('pay', r.get('pay')))}</td>"
        f"<td>{E(r['quadrant'])}</td></tr>" for i, r in enumerate(rows, start=1))
    agents = [r["agent_id"] for r in rows]
    fs = [f for f in F.query(con) if f.day and f.day.strftime("%Y-%m") == period and f.counts and f.agent_id in set(agents)]
    counts: dict = {}
    for f in fs:
        counts[(f.agent_id, f.rule_id)] = counts.get((f.agent_id, f.rule_id), 0) + 1
    rules = [r for r in RULES if any(k[1] == r for k in counts)]
    dist = {}
    for r in rows:
        q = r.get("quality_score")
        if q is not None:
            b = f"{int(q // 5 * 5)}–{int(q // 5 * 5) + 5}"
            dist[b] = dist.get(b, 0) + 1
    lost = _lost_inquiries(con, period, team)
    lost_rows = "".join(f"<tr><td>{E(c)}</td><td>{E(a or '-')}</td><td>{E(mask(rs or ''))}</td></tr>" for c, a, rs in lost[:50])
    problems = _problem_stats(con, period, team)
    prob_rows = "".join(f"<tr><td>{E(p or '（无商品信息）')}</td><td>{E(k)}</td><td class=num>{n}</td></tr>" for p, k, n in problems)
    body = (
        f"<p>周期 {E(period)}{' · 店铺 ' + E(team) if team else ''} · {len(rows)} 名客服</p>"
        f"<h2>排名</h2><table><tr><th>#</th><th>客服</th><th>岗位</th><th>质检分</th><th>付款转化率</th><th>总分</th>"
        f"<th>应发</th><th>评定</th></tr>{rank}</table>"
        f"<h2>质检分分布</h2>{_svg_bars(sorted(dist.items()), fmt='{:.0f} 人')}"
        f"<h2>规则 × 客服</h2>{_heat(rules, agents, counts)}"
        f"<h2>合格 × 合适</h2>{_svg_quadrant(rows)}"
        f"<h2>质检分趋势（团队，按日）</h2>{_svg_line(_daily_quality(con, period), lo=0, hi=100)}"
        f"<h2>询单流失（询单未下单，待跟进）</h2><table><tr><th>会话</th><th>客服</th><th>问题</th></tr>{lost_rows}</table>"
        f"<h2>售后问题统计（按商品与问题类型）</h2><table><tr><th>商品</th><th>问题类型</th><th>次数</th></tr>{prob_rows}</table>"
    )
    return _page(f"团队质检报告 · {period}" + (f" · {team}" if team else ""), body)


def _lost_inquiries(con, period: str, team: str | None):
    """Pre-sales conversations of the period whose customer ordered nothing in the chat or
    the day after, with the rules their findings broke."""
    return con.execute(
        """
        SELECT c.conversation_id, c.first_agent_id,
               string_agg(DISTINCT f.rule_id, ', ') AS rules
        FROM conversations c
        LEFT JOIN findings f USING (conversation_id)
        WHERE c.queue = 'presales' AND strftime(c.day, '%Y-%m') = ? AND (? IS NULL OR c.shop_id = ?)
          AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.shop_id = c.shop_id
                          AND o.created_at BETWEEN c.started_at AND c.ended_at + INTERVAL 1 DAY)
        GROUP BY ALL ORDER BY count(f.finding_id) DESC, c.conversation_id LIMIT 200
        """, [period, team, team]).fetchall()


def _problem_stats(con, period: str, team: str | None):
    """After-sales problems by product and kind (故障率 by product, for the product team): the
    complaints findings point at, by the complaint cue's kind, per product when the export
    carried the optional `sku` — else by problem type only."""
    return con.execute(
        """
        SELECT c.sku AS product, coalesce(f.subcategory, '其他') AS kind, count(*) AS n
        FROM findings f JOIN conversations c USING (conversation_id)
        WHERE f.rule_id = 'missing_apology' AND strftime(c.day, '%Y-%m') = ? AND (? IS NULL OR c.shop_id = ?)
        GROUP BY ALL ORDER BY n DESC
        """, [period, team, team]).fetchall()


def write_report_xlsx(con, rows: list[dict], path, period: str, agent: str | None = None, team: str | None = None) -> None:
    from openpyxl import Workbook

    from .scorecard_config import load_scorecard_config

    wb = Workbook()
    wb.remove(wb.active)
    sel = [r for r in rows if agent is None or r["agent_id"] == agent]
    scorecard_sheet(wb, sel, period, title="考核")
    findings_sheet(wb, con, period, agent=agent, shop=team)
    if agent is None:
        ws = wb.create_sheet("询单流失")
        _header(ws, ["会话", "客服", "问题规则"])
        for c, a, rs in _lost_inquiries(con, period, team):
            ws.append([for_sheet(c), for_sheet(a), for_sheet(rs)])
        _fit(ws)
    indicator_sheet(wb, load_scorecard_config())
    wb.save(path)
