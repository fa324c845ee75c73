"""Team-lead reports (组长/主管): the scorecard workbook, and per-agent / team reports in HTML
and Excel.

Everything here reads the findings layer (qc/findings.py) and the scorecard (qc/scorecard.py);
nothing recomputes a rule. Chat text is hostile: HTML is escaped (html.escape on every value,
no raw insertion), spreadsheet cells are neutralised (qc.safety.for_sheet), and phones, ID
numbers and addresses are masked (qc.pii) — a report leaves the team.

Charts are matplotlib figures inlined as SVG (qc/charts.py): no CDN, no JavaScript, the file
opens offline, prints, and can be mailed. Workbooks have the same sheets for every report —
汇总 (one row per agent), 计分 (one row per agent and indicator: value, tier points, weight),
明细 (one row per finding), 示例 (the worst findings with their messages in context) — plus
询单流失 and 售后问题 for a team, and 指标说明; every table sheet has a frozen header, an
autofilter, number formats and widths that fit Chinese text.
"""

from __future__ import annotations

import html
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from . import findings as F
from .pii import mask as _mask_pii
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


def number_format(key) -> str | None:
    """Excel shows 56.0% and ¥1,299.00 and 26.4 秒, not 0.56 and 1299 and 26.4."""
    if key in PERCENT:
        return "0.0%"
    if key in MONEY:
        return '"¥"#,##0.00'
    if key in SECONDS:
        return '0.0" 秒"'
    if key in RATIO:
        return "0.00"
    if key in POINTS:
        return "0.0"
    return None


class Fmt:
    """A value with its own number format (a column whose rows differ: 计分's 数值)."""

    __slots__ = ("value", "fmt")

    def __init__(self, value, fmt):
        self.value, self.fmt = value, fmt


# Excel's limit on the characters of a cell (rust_xlsxwriter refuses a longer string; XlsxWriter cut it)
CELL_MAX_CHARS = 32767


class Workbook:
    """A workbook written by rustpy-xlsxwriter (the Rust rust_xlsxwriter): `write_sheet` adds
    each sheet's rows, `save(path)` writes the file. Strings are always text cells, never
    formulas, links or numbers, whatever they look like (chat text is hostile; callers also
    pass it through for_sheet). Why this writer: the 1M-message month's 明细 (20,000 findings x
    12 columns) took ~4 s in openpyxl's write-only mode, 1.8 s in XlsxWriter, 0.2 s here."""

    def __init__(self):
        self._sheets: list[tuple[str, list[dict], dict]] = []
        self._formats: dict = {}

    def fmt(self, num_format: str):
        from rustpy_xlsxwriter import Format

        f = self._formats.get(num_format)
        if f is None:
            f = self._formats[num_format] = Format().set_num_format(num_format)
        return f

    def header_format(self):
        from rustpy_xlsxwriter import Format

        return Format().set_bold().set_background_color("#DDEBF7").set_align("vcenter")

    def add(self, title: str, records: list[dict], options: dict) -> None:
        self._sheets.append((title, records, options))

    def save(self, path) -> None:
        import io

        from rustpy_xlsxwriter import FastExcel

        buf = io.BytesIO()
        book = FastExcel(buf).format(datetime_format="yyyy-mm-dd")
        for title, records, options in self._sheets:
            freeze = options.pop("freeze", None)
            if freeze:
                book.freeze(row=freeze[0], col=freeze[1], sheet=title)
            book.sheet(title, records, header_format=self.header_format(), **options)
        book.save()
        Path(path).write_bytes(buf.getvalue())


def _cell(v):
    if isinstance(v, str):
        return v if len(v) <= CELL_MAX_CHARS else v[:CELL_MAX_CHARS]
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.replace(tzinfo=None)
    return v


def write_sheet(wb: Workbook, title: str, header: list[str], rows: list[list], formats: dict[int, str] | None = None,
                freeze: str = "A2", max_w: int = 60, table: bool = True, sample: int = 2000) -> None:
    """One sheet. Widths fit Chinese text (display width, CJK = 2) from the header and the
    first `sample` rows; a formatted, frozen header; an autofilter over the table; number
    formats per column (`formats`: index -> format) or per cell (Fmt, in one column of a
    sheet: 计分's 数值). Values are written as given: callers pass chat text through for_sheet."""
    if any(len(r) > len(header) for r in rows):
        raise ValueError(f"{title}: a row is wider than the header")
    widths = [display_width(h) for h in header]
    for row in rows[:sample]:
        for i, v in enumerate(row):
            v = v.value if isinstance(v, Fmt) else v
            w = display_width(f"{v:,.2f}" if isinstance(v, float) else v)
            if w > widths[i]:
                widths[i] = w
    options: dict = {"column_widths": [max(8, min(max_w, w + 2)) for w in widths], "autofilter": table and bool(header)}
    if freeze:
        col, row = freeze.rstrip("0123456789"), int(freeze.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        options["freeze"] = (row - 1, sum((ord(c) - 64) * 26 ** k for k, c in enumerate(reversed(col))) - 1)
    col_fmt = {header[i]: wb.fmt(f) for i, f in (formats or {}).items()}
    # Per-cell formats: the column's cells take their row's format (rustpy-xlsxwriter formats
    # rows, not cells); every other column gets its own format, which wins over the row's.
    cell_cols = {i for r in rows for i, v in enumerate(r) if isinstance(v, Fmt)}
    if len(cell_cols) > 1:
        raise ValueError(f"{title}: per-cell formats in more than one column")
    row_fmt = {}
    if cell_cols:
        (j,) = cell_cols
        row_fmt = {n: wb.fmt(r[j].fmt) for n, r in enumerate(rows, start=1)
                   if isinstance(r[j], Fmt) and r[j].fmt}
        col_fmt = {h: col_fmt.get(h) or wb.fmt("General") for i, h in enumerate(header) if i != j}
    records = [dict(zip(header, (_cell(v.value if isinstance(v, Fmt) else v) for v in r))) for r in rows]
    if not records:
        records = [dict.fromkeys(header)]     # the header of an empty table (the row stays blank)
    elif any(len(r) < len(header) for r in rows):
        records = [{h: rec.get(h) for h in header} for rec in records]   # every row has every column
    if col_fmt:
        options["column_formats"] = col_fmt
    if row_fmt:
        options["row_formats"] = row_fmt
    wb.add(title, records, options)
def new_workbook() -> Workbook:
    return Workbook()


def scorecard_sheet(wb, rows: list[dict], period: str, title: str = "汇总"):
    """汇总: one row per agent — KPIs, quality, points, pay, quadrant and the bars it was judged by."""
    keys = [k for k, _ in COLUMNS]
    names = [zh for _, zh in COLUMNS] + ["合格线(总分/满分)", "合适线(态度类/百会话)", "态度类/百会话"]
    data = []
    for r in rows:
        vals = [for_sheet(ROLE_ZH.get(r.get(k), r.get(k)) if k == "role_group" else r.get(k)) for k in keys]
        data.append(vals + [r.get("qualified_bar"), r.get("fitting_bar"), r.get("attitude_per_100")])
    formats = {i: f for i, k in enumerate(keys + ["pay_share"]) if (f := number_format(k))}
    return write_sheet(wb, title, names, data, formats, freeze="B2")


def points_sheet(wb, rows: list[dict], cfg):
    """计分: one row per (agent, indicator) — the value, the tier points, the weight and
    points × weight, so a lead can check every total by hand (Σ points × weight = 总分)."""
    data = []
    for r in rows:
        card = cfg.scorecards.get(r["role_group"])
        if not card:
            continue
        for ind in card.indicators:
            zh, _ = INDICATORS[ind.id]
            pts = (r.get("indicator_points") or {}).get(ind.id)
            val = (r.get("indicator_values") or {}).get(ind.id)
            fmt = number_format(ind.id) or ("0.00" if isinstance(val, float) else None)
            data.append([for_sheet(r["agent_id"]), for_sheet(r["shop_id"]), ROLE_ZH.get(r["role_group"], r["role_group"]), zh,
                         Fmt(val, fmt), pts, ind.max_points, ind.weight, None if pts is None else pts * ind.weight,
                         ind.max_points * ind.weight])
    return write_sheet(wb, "计分", ["客服", "店铺", "岗位", "指标", "数值", "得分", "满分", "权重", "得分×权重", "满分×权重"], data)


def indicator_sheet(wb, cfg):
    data = []
    for name, card in cfg.scorecards.items():
        for ind in card.indicators:
            zh, direction = INDICATORS[ind.id]
            tiers = "；".join(f"{'' if t.min == float('-inf') else t.min}–{'' if t.max == float('inf') else t.max} → {t.points}"
                             for t in ind.tiers)
            data.append([ROLE_ZH.get(name, name), zh, "越高越好" if direction > 0 else "越低越好", ind.weight, tiers])
    data.append([])
    data.append(["评定（合格 × 合适）",
                 "合格：总分/满分不低于本团队（同店铺同岗位）中位数，且不低于 "
                 f"{cfg.qualified_min_share:.0%}；合适：态度类问题每百会话不高于团队中位数，且无高压线"
                 if cfg.quadrant_mode == "relative" else
                 f"合格：总分/满分 ≥ {cfg.qualified_min_share:.0%}；合适：态度类问题每百会话 ≤ "
                 f"{cfg.fitting_max_attitude_per_100}，且无高压线"])
    return write_sheet(wb, "指标说明", ["岗位", "指标", "方向", "权重", "档次（区间 → 得分）"], data, max_w=90, table=False)


def period_findings(con, period: str, agent: str | None = None, shop: str | None = None,
                    limit: int | None = None, counted: bool | None = None) -> list:
    """The period's findings (the findings layer, with review status), most severe first;
    at most `limit`; `counted`: only those that still count."""
    from .scorecard import period_bounds

    start, end = period_bounds(period)
    # the period, the order and the limit in SQL: a database holds months of findings, a
    # report reads one, and a sheet shows its worst `limit` (a 1M-message month has 40k)
    return F.query(con, F.Filter(agent=agent, shop=shop, since=start, until=end, counted=counted), limit=limit,
                   severe_first=True)


FINDINGS_SHEET_LIMIT = 20000   # rows of 明细 (most severe first); the console lists them all
EXAMPLES = 20                  # 示例: the worst findings that count, in context


def findings_sheet(wb, con, period: str, agent: str | None = None, shop: str | None = None,
                   limit: int = FINDINGS_SHEET_LIMIT, fs: list | None = None):
    """明细: one row per finding of the period (at most `limit`, most severe first)."""
    rows = (fs if fs is not None else period_findings(con, period, agent, shop))[:limit]
    texts = _message_texts(con, rows)
    data = [[for_sheet(v) for v in (
        f.day, f.conversation_id, f.message_seq, f.agent_id, RULES[f.rule_id].name if f.rule_id in RULES else f.rule_id,
        f.category, SEV_ZH.get(f.severity, f.severity), STATUS_ZH.get(f.review_status, f.review_status),
        "是" if f.counts else "否", f.finding_id, mask(f.explanation),
        mask(texts.get((f.conversation_id, f.message_seq), "")))] for f in rows]
    return write_sheet(wb, "明细", ["日期", "会话", "消息序号", "客服", "规则", "类别", "严重度", "复核状态", "计入扣分",
                                  "问题编号", "说明", "消息原文（已脱敏）"], data, {0: "yyyy-mm-dd"}, max_w=70)


def examples_sheet(wb, con, fs: list, n: int = EXAMPLES):
    """示例: the n worst findings that count, each with its message in context (two before,
    one after); one row per message, the flagged one marked."""
    data = []
    for i, (f, lines) in enumerate(_example_contexts(con, fs, n), start=1):
        rule = RULES[f.rule_id].name if f.rule_id in RULES else f.rule_id
        for m in lines:
            flagged = m.seq == f.message_seq
            data.append([i, for_sheet(rule), SEV_ZH.get(f.severity, f.severity), for_sheet(f.conversation_id), m.seq,
                         WHO_ZH.get(m.role, m.role), for_sheet(mask(m.text)), "◀" if flagged else "",
                         for_sheet(mask(f.explanation)) if flagged else ""])
    return write_sheet(wb, "示例", ["示例", "规则", "严重度", "会话", "消息序号", "角色", "消息（已脱敏）", "被标记", "说明"],
                       data, max_w=70)


def _message_texts(con, fs) -> dict:
    keys = {(f.conversation_id, f.message_seq) for f in fs if f.message_seq is not None}
    if not keys:
        return {}
    rows = con.execute(
        "SELECT conversation_id, seq, text FROM messages WHERE (conversation_id, seq) IN (SELECT unnest(?), unnest(?))",
        [[k[0] for k in keys], [k[1] for k in keys]]).fetchall()
    return {(c, s): t for c, s, t in rows}


def write_scorecard_xlsx(rows: list[dict], path, period: str, con=None, cfg=None) -> None:
    """The monthly scorecard workbook: 汇总, 计分, 明细 and 示例 (with a database), 指标说明."""
    from .scorecard_config import load_scorecard_config

    cfg = cfg or load_scorecard_config()
    wb = new_workbook()
    scorecard_sheet(wb, rows, period)
    points_sheet(wb, rows, cfg)
    if con is not None:
        findings_sheet(wb, con, period, fs=period_findings(con, period, limit=FINDINGS_SHEET_LIMIT))
        examples_sheet(wb, con, period_findings(con, period, counted=True, limit=EXAMPLES))
    indicator_sheet(wb, cfg)
    wb.save(path)


# --------------------------------------------------------------------------- HTML

E = html.escape


@lru_cache(maxsize=1 << 16)
def mask(text):
    """qc.pii.mask, remembered: a month's 明细 repeats its explanations (20,000 rows hold
    ~5,000 distinct ones at 1M messages), and masking is four regexes a text."""
    return _mask_pii(text)


SEV_ZH = {"redline": "红线", "high": "高", "medium": "中", "low": "低"}
WHO_ZH = {"customer": "顾客", "agent": "客服", "bot": "机器人", "system": "系统"}

CSS = """body{font-family:'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',
'Hiragino Sans GB',sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
td.num{text-align:right}.muted{color:#888}.chart{max-width:100%;height:auto}
.ex{background:#f7f7f7;padding:8px;margin:6px 0;font-size:13px}.flag{background:#ffd7d7}
.grid{display:flex;flex-wrap:wrap;gap:24px}.grid>div{flex:1 1 460px}"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
            f"<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
            f"<title>{E(title)}</title><style>{CSS}</style></head><body><h1>{E(title)}</h1>{body}"
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


def _median_of(xs):
    xs = sorted(x for x in xs if x is not None)
    return None if not xs else xs[len(xs) // 2]


def _daily(con, period: str, agents: list[str]) -> dict[str, list[tuple[str, float]]]:
    """Quality score per agent and day (the scorecard's quality_scores table, made by the
    scorecard() call that produced the rows)."""
    from .scorecard import period_bounds

    start, end = period_bounds(period)
    try:
        rows = con.execute(
            "SELECT agent_id, day, avg(score) FROM quality_scores WHERE agent_id IN (SELECT unnest(?)) "
            "AND day >= ? AND day < ? GROUP BY ALL ORDER BY day", [agents, start, end]).fetchall()
    except Exception:           # noqa: BLE001 — no scorecard run on this connection: no trend
        return {}
    out: dict[str, list] = {}
    for a, d, v in rows:
        out.setdefault(a, []).append((str(d), float(v)))
    return out


def _band(daily: dict[str, list[tuple[str, float]]]) -> tuple[list, list]:
    """Per day: the team median, and its middle half (25th–75th percentile)."""
    by_day: dict[str, list[float]] = {}
    for pts in daily.values():
        for d, v in pts:
            by_day.setdefault(d, []).append(v)
    med, band = [], []
    for d in sorted(by_day):
        xs = sorted(by_day[d])
        q = lambda p: xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))]  # noqa: E731
        med.append((d, q(0.5)))
        band.append((d, q(0.25), q(0.75)))
    return med, band


def _example_contexts(con, fs: list, n: int):
    """The n worst findings, each with two messages before and one after the flagged one.
    The messages of all n conversations come from one query (one scan of `messages`, not
    one per example)."""
    worst = sorted(fs, key=lambda f: -F.SEVERITY_ORDER.get(f.severity, 0))[:n]
    msgs = F.messages_of(con, sorted({f.conversation_id for f in worst}))
    out = []
    for f in worst:
        lines = msgs.get(f.conversation_id)
        if lines is None:
            continue
        seq = f.message_seq if f.message_seq is not None else (lines[-1].seq if lines else 0)
        out.append((f, [m for m in lines if seq - 2 <= m.seq <= seq + 1]))
    return out


def _examples(con, fs: list, n: int = 5) -> str:
    out = []
    for f, lines in _example_contexts(con, fs, n):
        body = "".join(f"<div{' class=flag' if m.seq == f.message_seq else ''}>{m.seq} {E(WHO_ZH.get(m.role, m.role))}："
                       f"{E(mask(m.text))}</div>" for m in lines)
        out.append(f"<div class=ex><b>{E(RULES[f.rule_id].name if f.rule_id in RULES else f.rule_id)}</b> · "
                   f"{E(SEV_ZH.get(f.severity, f.severity))} · {E(STATUS_ZH.get(f.review_status, f.review_status))} · "
                   f"会话 {E(f.conversation_id)}<br>{E(mask(f.explanation))}{body}</div>")
    return "".join(out) or "<p class=muted>（本期没有问题）</p>"


def _rule_name(r: str) -> str:
    return RULES[r].name if r in RULES else r


def agent_report_html(con, rows: list[dict], agent: str, period: str) -> str:
    from . import charts

    me = next((r for r in rows if r["agent_id"] == agent), None)
    if me is None:
        from .errors import QCError

        raise QCError(f"{period} 没有客服 {agent!r} 的考核数据 (no scorecard row for this agent in the period)")
    team = [r for r in rows if r["shop_id"] == me["shop_id"] and r["role_group"] == me["role_group"]]
    fs = period_findings(con, period, agent=agent, counted=True)
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
    from .scorecard_config import load_scorecard_config

    card = load_scorecard_config().scorecards.get(me["role_group"])
    points = "".join(
        f"<tr><th>{E(INDICATORS[i.id][0])}</th><td class=num>{E(_fmt(i.id, (me.get('indicator_values') or {}).get(i.id)))}</td>"
        f"<td class=num>{(me.get('indicator_points') or {}).get(i.id)}</td><td class=num>{i.max_points:g}</td>"
        f"<td class=num>{i.weight:g}</td><td class=num>{((me.get('indicator_points') or {}).get(i.id) or 0) * i.weight:g}</td></tr>"
        for i in (card.indicators if card else ()))
    cats = "".join(f"<tr><th>{E(c)}</th><td class=num>{n}</td><td>{E(REMEDIES.get(c, ''))}</td></tr>"
                   for c, n in sorted(by_cat.items(), key=lambda x: -x[1]))
    daily = _daily(con, period, [r["agent_id"] for r in team])
    med_line, band = _band(daily)
    body = (
        f"<p>店铺 {E(me['shop_id'])} · 岗位 {E(ROLE_ZH.get(me['role_group'], me['role_group']))} · 周期 {E(period)} · "
        f"评定 <b>{E(me['quadrant'])}</b>（{E(me['action'])}）</p>"
        f"<p class=muted>评定依据：合格线 总分/满分 ≥ {me.get('qualified_bar', 0):.0%}（本人 {(me.get('pay_share') or 0):.0%}）；"
        f"合适线 态度类问题 ≤ {me.get('fitting_bar')} 次/百会话（本人 {me.get('attitude_per_100')}），且无高压线。"
        f"两条线都取本团队（同店铺同岗位）的中位数。</p>"
        f"<h2>质检分趋势（按日，与团队对比）</h2>"
        + charts.line({agent: daily.get(agent, []), "团队中位数": med_line}, "质检分趋势", band=band, ylabel="质检分")
        + "<div class=grid><div><h2>问题：按规则</h2>"
        + charts.bars(sorted(((_rule_name(r), n) for r, n in by_rule.items()), key=lambda x: -x[1]), "问题按规则")
        + f"</div><div><h2>合格 × 合适（团队中的位置）</h2>{charts.quadrant(team, '合格×合适', highlight=agent)}</div></div>"
        f"<h2>问题：按类别与改进方向</h2><table><tr><th>类别</th><th>数量</th><th>改进方向</th></tr>{cats}</table>"
        f"<h2>核心数据（与团队中位数对比）</h2><table><tr><th>指标</th><th>本人</th><th>团队中位数</th></tr>{kpi_rows}</table>"
        f"<h2>考核计分（得分 × 权重）</h2><table><tr><th>指标</th><th>数值</th><th>得分</th><th>满分</th><th>权重</th>"
        f"<th>得分×权重</th></tr>{points}<tr><th>合计</th><td></td><td></td><td></td><td></td>"
        f"<td class=num><b>{E(_fmt('total_points', me.get('total_points')))}</b> / {E(_fmt('max_points', me.get('max_points')))}</td></tr></table>"
        f"<h2>典型问题（含上下文）</h2>{_examples(con, fs)}"
    )
    return _page(f"客服质检报告 · {agent} · {period}", body)


def team_report_html(con, rows: list[dict], period: str, team: str | None = None) -> str:
    from . import charts

    rows = sorted(rows, key=lambda r: -(r.get("total_points") or 0))
    rank = "".join(
        f"<tr><td class=num>{i}</td><th>{E(r['agent_id'])}</th><td>{E(ROLE_ZH.get(r['role_group'], r['role_group']))}</td>"
        f"<td class=num>{E(_fmt('quality_score', r.get('quality_score')))}</td>"
        f"<td class=num>{E(_fmt('payment_conversion', r.get('payment_conversion')))}</td>"
        f"<td class=num>{E(_fmt('total_points', r.get('total_points')))}</td><td class=num>{E(_fmt('pay', r.get('pay')))}</td>"
        f"<td>{E(r['quadrant'])}</td></tr>" for i, r in enumerate(rows, start=1))
    agents = [r["agent_id"] for r in rows]
    fs = [f for f in period_findings(con, period, shop=team, counted=True) if f.agent_id in set(agents)]
    counts: dict = {}
    for f in fs:
        counts[(f.agent_id, _rule_name(f.rule_id))] = counts.get((f.agent_id, _rule_name(f.rule_id)), 0) + 1
    rules = [_rule_name(r) for r in RULES if any(k[1] == _rule_name(r) for k in counts)]
    daily = _daily(con, period, agents)
    med_line, band = _band(daily)
    lost = _lost_inquiries(con, period, team)
    lost_rows = "".join(f"<tr><td>{E(c)}</td><td>{E(a or '-')}</td><td>{E(mask(rs or ''))}</td></tr>" for c, a, rs in lost[:50])
    problems = _problem_stats(con, period, team)
    prob_rows = "".join(f"<tr><td>{E(p or '（无商品信息）')}</td><td>{E(k)}</td><td class=num>{n}</td></tr>" for p, k, n in problems)
    by_kind: dict[str, int] = {}
    for _, k, n in problems:
        by_kind[k] = by_kind.get(k, 0) + n
    body = (
        f"<p>周期 {E(period)}{' · 店铺 ' + E(team) if team else ''} · {len(rows)} 名客服</p>"
        f"<h2>排名</h2><table><tr><th>#</th><th>客服</th><th>岗位</th><th>质检分</th><th>付款转化率</th><th>总分</th>"
        f"<th>应发</th><th>评定</th></tr>{rank}</table>"
        "<div class=grid><div><h2>质检分分布</h2>"
        + _score_histogram([r["quality_score"] for r in rows if r.get("quality_score") is not None])
        + f"</div><div><h2>合格 × 合适</h2>{charts.quadrant(rows, '合格×合适')}"
        "<p class=muted>虚线：评定所用的合格线与合适线（各团队中位数）。</p></div></div>"
        f"<h2>规则 × 客服</h2>{charts.heatmap(agents, rules, counts, '规则×客服')}"
        f"<h2>质检分趋势（团队中位数与中间 50%，按日）</h2>"
        + charts.line({"团队中位数": med_line}, "团队质检分趋势", band=band, ylabel="质检分")
        + f"<h2>询单流失（询单未下单，待跟进）</h2><table><tr><th>会话</th><th>客服</th><th>问题</th></tr>{lost_rows}</table>"
        f"<h2>售后问题统计（按商品与问题类型）</h2>"
        + charts.bars(sorted(by_kind.items(), key=lambda x: -x[1]), "售后问题类型", color="#c55a11")
        + f"<table><tr><th>商品</th><th>问题类型</th><th>次数</th></tr>{prob_rows}</table>"
    )
    return _page(f"团队质检报告 · {period}" + (f" · {team}" if team else ""), body)


def _score_histogram(scores: list[float]) -> str:
    """Bins that separate the team: scores cluster near 100, so the axis starts just below the
    lowest score, in whole points."""
    from . import charts

    if not scores:
        return charts.histogram([], "质检分分布", "质检分")
    lo = max(0, int(min(scores)) - 1)
    return charts.histogram(scores, "质检分分布", "质检分", bins=max(2, min(20, 100 - lo)), lo=lo, hi=100)


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
    """The report as a workbook: 汇总, 计分, 明细, 示例 (+ 询单流失, 售后问题 for a team), 指标说明."""
    from .scorecard_config import load_scorecard_config

    cfg = load_scorecard_config()
    wb = new_workbook()
    sel = [r for r in rows if agent is None or r["agent_id"] == agent]
    scorecard_sheet(wb, sel, period)
    points_sheet(wb, sel, cfg)
    findings_sheet(wb, con, period, fs=period_findings(con, period, agent=agent, shop=team, limit=FINDINGS_SHEET_LIMIT))
    examples_sheet(wb, con, period_findings(con, period, agent=agent, shop=team, counted=True, limit=EXAMPLES))
    if agent is None:
        write_sheet(wb, "询单流失", ["会话", "客服", "问题规则"],
                    [[for_sheet(c), for_sheet(a), for_sheet(rs)] for c, a, rs in _lost_inquiries(con, period, team)])
        write_sheet(wb, "售后问题", ["商品", "问题类型", "次数"],
                    [[for_sheet(p or "（无商品信息）"), for_sheet(k), n] for p, k, n in _problem_stats(con, period, team)])
    indicator_sheet(wb, cfg)
    wb.save(path)


def _safe_name(s: str) -> str:
    """A file name that every file share accepts (agent ids look like 衣选:小雅)."""
    import re

    return re.sub(r'[\\/:*?"<>|\s]+', "_", str(s)).strip("._") or "_"


def write_outbox(con, period: str, outbox, agents: bool = True) -> dict:
    """The reports a team lead finds in the morning: for the period so far, the team report of
    every shop (HTML and Excel) and of all shops together, and one HTML report per agent, in
    `outbox/<period>/`. Each file is written beside its final name and renamed, so a reader
    never opens half a file; re-running replaces the same files."""
    from .scorecard import scorecard

    out = Path(outbox) / period
    out.mkdir(parents=True, exist_ok=True)
    rows = scorecard(con, period)
    written = []

    def put(name: str, write) -> None:
        path = out / name
        tmp = path.with_name(".tmp-" + path.name)
        write(tmp)
        tmp.replace(path)
        written.append(str(path))

    shops = sorted({r["shop_id"] for r in rows})
    for shop in [None] + shops:
        sel = [r for r in rows if shop is None or r["shop_id"] == shop]
        label = "全部店铺" if shop is None else _safe_name(shop)
        put(f"团队报告-{label}.html", lambda p, sel=sel, shop=shop: p.write_text(team_report_html(con, sel, period, shop), encoding="utf-8"))
        put(f"团队报告-{label}.xlsx", lambda p, sel=sel, shop=shop: write_report_xlsx(con, sel, p, period, team=shop))
    if agents:
        for r in rows:
            put(f"客服报告-{_safe_name(r['agent_id'])}.html",
                lambda p, a=r["agent_id"]: p.write_text(agent_report_html(con, rows, a, period), encoding="utf-8"))
    return {"period": period, "folder": str(out), "files": len(written), "agents": len(rows), "shops": len(shops)}
