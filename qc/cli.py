"""`qc` — the command line (bilingual help; output in Simplified Chinese).

Interactive commands call the library directly: a person running `qc ingest` by hand
should not wait 7–17 s for Prefect's ephemeral server to start (DESIGN.md, measured).
The same library functions run inside the Prefect flows in `pipelines/`; the commands that
need Prefect (running a flow on demand) are added by `pipelines` through the `qc.plugins`
entry point, so this package never imports Prefect or `pipelines`.

A user mistake never shows a traceback: options with fixed choices are Enums, dates and
periods are checked, unknown rules and agents get "did you mean", readers refuse a
database that does not exist, and every QCError is printed as one line naming the value,
file or key (exit 2).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
import sys
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import List, Optional
from zoneinfo import ZoneInfo

import click
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from . import store
from .errors import QCError
from .safety import for_terminal, safe_cell


class _Group(TyperGroup):
    """Turns the library's QCError into one clear line and exit 2 (never a traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except QCError as exc:
            _error(str(exc))
            raise SystemExit(2) from None
        finally:
            # DuckDB keeps one database instance per file and process: close what this
            # command opened, so the next command (or a test) may open it another way.
            while _OPEN:
                try:
                    _OPEN.pop().close()
                except Exception:
                    pass


_OPEN: list = []


app = typer.Typer(
    cls=_Group,
    help="客服质检 — chat-transcript quality inspection. 导入聊天记录、质检、查看问题、绩效考核。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DbOpt = typer.Option(None, "--db", help="DuckDB 文件 (default: $QC_DB or ./data/qc.duckdb)")


def T(v, style: str = "") -> Text:
    """A table cell or line from untrusted text: never parsed as rich markup, terminal
    escapes removed."""
    return Text(for_terminal(v), style=style)


def _error(msg: str) -> None:
    err.print(Text("错误 ", style="bold red") + T(msg), soft_wrap=True)


def _fail(msg: str, code: int = 2):
    _error(msg)
    raise typer.Exit(code)


def _suggest(value: str, choices, what: str) -> str:
    close = difflib.get_close_matches(value, list(choices), n=3, cutoff=0.5)
    hint = f"；你是不是要找 (did you mean): {', '.join(close)}" if close else ""
    return f"未知{what} (unknown {what}) {value!r}{hint}"


# --------------------------------------------------------------------------- value parsing


def parse_day(value: str | None, tz: str = "Asia/Shanghai") -> date | None:
    """YYYY-MM-DD, or today / yesterday (今天 / 昨天) in the shop's timezone."""
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("today", "今天", "yesterday", "昨天"):
        today = datetime.now(ZoneInfo(tz)).date()
        return today if v in ("today", "今天") else today - timedelta(days=1)
    try:
        return date.fromisoformat(v) if len(v) == 10 else _bad_day(value)
    except ValueError:
        _bad_day(value)


def _bad_day(value):
    raise QCError(f"--date {value!r} 不是有效日期：请用 YYYY-MM-DD（例如 2026-11-03）或 today / yesterday "
                  f"(not a valid date)")


def parse_period(value: str) -> str:
    from .scorecard import period_bounds

    period_bounds(value)      # raises QCError naming the value
    return value


def _config():
    from .config import load_config

    return load_config()


def _reader(db):
    _apply_journal(db)
    con = store.open_reader(db)
    _OPEN.append(con)
    return con


def _apply_journal(db) -> None:
    """Decisions the console or `qc review` journaled while the database was busy reach it
    before a reader reports review status (findings, stats, scorecard, reports)."""
    from .review import Journal

    path = store.default_db_path(db)
    journal = Journal.existing(path) if path.exists() else None
    if journal is None or not journal.has_pending():
        return
    try:
        store.connect(path).close()          # a writer applies the journal as it opens the file
    except (QCError, OSError, Exception) as exc:   # read-only file, busy: report, then read what is there
        err.print(T(f"注意：复核日志中有尚未写入数据库的决定，本次结果不含它们 (pending review decisions not applied: "
                    f"{str(exc).splitlines()[0]})", "yellow"))


def _writer(db):
    con = store.connect(db)
    _OPEN.append(con)
    return con


def _require_inspection(con, what: str) -> None:
    from .findings import inspected

    if not inspected(con):
        raise QCError(f"数据库还没有质检结果，请先运行 qc inspect (no inspection has run on this database yet; "
                      f"run `qc inspect` before `{what}`)")


def _check_limit(limit: int) -> None:
    if limit < 0:
        raise QCError(f"--limit {limit} 不能为负数 (must be 0 = all, or a positive number of rows)")


def _check_rule(rule: str | None) -> None:
    from .rules import BY_ID

    if rule is not None and rule not in BY_ID:
        raise QCError("--rule " + _suggest(rule, BY_ID, "规则 rule"))


def _check_agent(con, agent: str | None) -> None:
    from .findings import known_agents

    if agent is not None:
        agents = known_agents(con)
        if agent not in agents:
            raise QCError("--agent " + _suggest(agent, agents, "客服 agent"))


class _CsvOut(io.StringIO):
    """Collects CSV text; flush() writes it to stdout as UTF-8 with a BOM, so Chinese Excel
    opens the file without mojibake whatever the terminal's locale."""

    def flush(self):
        data = ("\ufeff" + self.getvalue()).encode("utf-8")
        self.seek(0)
        self.truncate()
        sys.stdout.flush()
        if hasattr(sys.stdout, "buffer"):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:  # pragma: no cover
            sys.stdout.write(data.decode("utf-8"))


def _csv_out():
    return _CsvOut(newline="")


class Headers(str, Enum):
    zh = "zh"
    en = "en"


def _progress():
    """A rich progress bar on a terminal; None when piped (scripts, CI, tests)."""
    if not console.is_terminal:
        return None
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=console, transient=True)


# --------------------------------------------------------------------------- ingest


@app.command()
def ingest(
    paths: List[Path] = typer.Argument(..., help="文件或文件夹 (.jsonl .json .csv; UTF-8 / GBK / GB18030)"),
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出统计 (print counts as JSON)"),
):
    """导入聊天记录和订单 (ingest chats and orders); prints read / ingested / duplicate / quarantined."""
    from .ingest import ingest_paths, iter_input_files

    con = _writer(db)
    bar = _progress()
    if bar:
        with bar:
            task = bar.add_task("导入 ingest", total=len(iter_input_files(paths)))
            report = ingest_paths(con, paths, progress=lambda fr: bar.advance(task))
    else:
        report = ingest_paths(con, paths)
    d = report.as_dict()
    if as_json:
        print(json.dumps(d, ensure_ascii=False))
    else:
        t = Table(title=f"导入结果 (ingest run {report.run_id})")
        t.add_column("文件", overflow="fold")
        for col in ("编码", "读取", "导入", "重复", "隔离"):
            t.add_column(col, justify="right" if col != "编码" else "left", no_wrap=True)
        for f in report.files:
            if f.error:
                t.add_row(T(f.file), "-", "-", "-", "-", T(f"无法读取: {f.error}", "red"))
            else:
                t.add_row(T(f.file), f.encoding, str(f.read), str(f.ingested), str(f.duplicate), str(f.quarantined))
        console.print(t)
        console.print(
            f"读取 read={d['read']}  导入 ingested={d['ingested']} (订单 orders {d['orders_ingested']})  "
            f"重复 duplicate={d['duplicate']}  隔离 quarantined={d['quarantined']}"
        )
        if d["late_conversations"]:
            console.print(f"迟到消息并入 {d['late_conversations']} 个已有会话，已标记为待重新质检。")
        if d["quarantined"]:
            console.print("被隔离的行: qc quarantine")
        if d["skipped"]:
            shown = ", ".join(d["skipped"][:5]) + (f" …（共 {len(d['skipped'])} 个）" if len(d["skipped"]) > 5 else "")
            console.print(T(f"跳过 {len(d['skipped'])} 个不是 .jsonl/.json/.csv 的文件 (skipped, not chat or order exports): {shown}"))
    for e in d["errors"]:
        _error(e)
    if d["errors"]:
        raise typer.Exit(1)


class RowFormat(str, Enum):
    table = "table"
    jsonl = "jsonl"


@app.command()
def quarantine(
    db: Optional[Path] = DbOpt,
    file: Optional[str] = typer.Option(None, "--file", help="只看某个文件 (only rows from this file path)"),
    limit: int = typer.Option(50, "--limit", help="最多显示多少行 (0 = all)"),
    fmt: RowFormat = typer.Option(RowFormat.table, "--format", help="table | jsonl"),
):
    """列出被隔离的坏行 (list quarantined rows: file, line, field, reason)."""
    _check_limit(limit)
    con = _reader(db)
    sql = "SELECT file, line, field, reason, raw FROM quarantine"
    params: list = []
    if file:
        sql += " WHERE file = ?"
        params.append(file)
    total = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]
    sql += " ORDER BY file, line"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    rows = con.execute(sql, params).fetchall()
    if fmt is RowFormat.jsonl:
        for r in rows:
            print(json.dumps(dict(zip(("file", "line", "field", "reason", "raw"), r)), ensure_ascii=False))
        return
    t = Table(title=f"隔离区 quarantine: {total} 行")
    t.add_column("文件", overflow="fold")
    t.add_column("行", justify="right", no_wrap=True)
    t.add_column("字段", no_wrap=True)
    t.add_column("原因", overflow="fold", ratio=2)
    t.add_column("原始内容", overflow="fold", ratio=2)
    for f, line, field, reason, raw in rows:
        t.add_row(T(f), str(line), T(field), T(reason), T((raw or "")[:120]))
    console.print(t)
    if len(rows) < total:
        console.print(f"…… 另有 {total - len(rows)} 行，用 --limit 0 查看全部")


# --------------------------------------------------------------------------- inspection


@app.command("inspect")
def inspect_cmd(
    db: Optional[Path] = DbOpt,
    date_: Optional[str] = typer.Option(None, "--date", help="只质检这一天的会话 (YYYY-MM-DD | today | yesterday, shop-local day)"),
    all_: bool = typer.Option(False, "--all", help="质检全部会话 (re-inspect everything)"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出 (print the run summary as JSON)"),
    no_models: bool = typer.Option(False, "--no-models", help="只用词库，不用分类模型 (lexicons only)"),
):
    """质检 (run the inspection): by default the conversations that are new or got late messages."""
    from .inspect import inspect as run_inspect

    if date_ and all_:
        _fail("--date 与 --all 只能选一个 (choose one of --date / --all)")
    cfg = _config()
    day = parse_day(date_, cfg.timezone)
    con = _writer(db)
    bar = _progress()
    if bar:
        names = ["batch", "match", "flags", "classify", "rules", "write"]
        with bar:
            task = bar.add_task("质检 inspect", total=len(names))
            d = run_inspect(con, day=day, all_=all_, config=cfg, use_models=not no_models,
                            progress=lambda s: bar.update(task, completed=names.index(s), description=f"质检 {s}")).as_dict()
    else:
        d = run_inspect(con, day=day, all_=all_, config=cfg, use_models=not no_models).as_dict()
    if as_json:
        print(json.dumps(d, ensure_ascii=False))
        return
    console.print(
        f"质检完成 run {d['run_id']} ({d['scope']}): 会话 {d['conversations']}，消息 {d['messages']}，"
        f"问题 {d['findings']}，用时 {d['stages'].get('total', 0):.2f} 秒"
    )
    if not d["conversations"]:
        console.print("没有待质检的会话 (nothing new to inspect); 重新质检全部: qc inspect --all")
    t = Table(title="各规则问题数 (findings by rule)")
    t.add_column("rule_id", no_wrap=True)
    t.add_column("数量", justify="right", no_wrap=True)
    for rid, n in d["by_rule"].items():
        t.add_row(rid, str(n))
    console.print(t)
    if d.get("models"):
        console.print("分类模型 (classifiers): " + ", ".join(
            tag if tag != "none" else f"{task}: 未使用 (lexicons only)" for task, tag in d["models"].items()))
    for note in d.get("notes", []):
        console.print(Text("注意 ", style="yellow") + T(note))


class Format(str, Enum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"


class Status(str, Enum):
    pending = "pending"
    confirmed = "confirmed"
    dismissed = "dismissed"
    appealed = "appealed"
    appeal_upheld = "appeal_upheld"
    appeal_rejected = "appeal_rejected"


# CSV headers for people (Excel): field -> 中文
FINDING_HEADERS_ZH = {
    "finding_id": "问题ID", "conversation_id": "会话ID", "rule_id": "规则", "rule_version": "规则版本",
    "message_seq": "消息序号", "agent_id": "客服", "shop_id": "店铺", "day": "日期", "severity": "严重度",
    "category": "类别", "subcategory": "子类", "span_start": "起始位置", "span_end": "结束位置",
    "evidence": "证据", "explanation": "说明", "source": "来源", "score": "分值", "review_status": "复核状态",
    "reviewer": "复核人", "review_reason": "复核理由", "reviewed_at": "复核时间",
}
SEV_ZH = {"redline": "高压线", "high": "高", "medium": "中", "low": "低"}
SEV_STYLE = {"redline": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan"}


@app.command()
def findings(
    db: Optional[Path] = DbOpt,
    fmt: Format = typer.Option(Format.table, "--format", help="jsonl | csv | table"),
    rule: Optional[str] = typer.Option(None, "--rule", help="只看某条规则 (rule_id)"),
    agent: Optional[str] = typer.Option(None, "--agent", help="只看某个客服 (agent_id)"),
    date_: Optional[str] = typer.Option(None, "--date", help="只看某一天 (YYYY-MM-DD | today | yesterday)"),
    status: Optional[Status] = typer.Option(None, "--status", help="只看某复核状态 (pending | confirmed | dismissed | appealed …)"),
    limit: int = typer.Option(200, "--limit", help="table 格式最多显示多少行 (0 = all)"),
    mask: bool = typer.Option(True, "--mask/--no-mask", help="隐藏手机号、座机、身份证号和地址 (mask phones, ID numbers and addresses: on by default, output may leave the team)"),
    headers: Headers = typer.Option(Headers.zh, "--headers", help="csv 表头: zh (Excel) | en (field names)"),
):
    """列出质检问题 (list findings, with their latest review status) — jsonl/csv for other tools, table for people."""
    from . import findings as F

    _check_limit(limit)
    _check_rule(rule)
    day = parse_day(date_, _config().timezone)
    con = _reader(db)
    _require_inspection(con, "qc findings")
    _check_agent(con, agent)
    flt = F.Filter(rule=rule, agent=agent, day=day, status=status.value if status else None)
    from .pii import mask as mask_text

    def masked(v):
        if not mask:
            return v
        if isinstance(v, str):
            return mask_text(v)
        if isinstance(v, list):
            return [masked(x) for x in v]
        if isinstance(v, dict):
            return {k: masked(x) for k, x in v.items()}
        return v

    if fmt is Format.jsonl:
        for f in F.query(con, flt):
            d = f.as_dict()
            d["evidence"], d["explanation"], d["review_reason"] = masked(d["evidence"]), masked(d["explanation"]), masked(d["review_reason"])
            sys.stdout.write(json.dumps(d, ensure_ascii=False, default=str) + "\n")
        return
    if fmt is Format.csv:
        from .safety import for_sheet, mask_pii

        fields = F.COLUMNS + F.REVIEW_COLUMNS
        out = _csv_out()
        w = csv.writer(out)
        w.writerow([FINDING_HEADERS_ZH[c] if headers is Headers.zh else c for c in fields])
        for f in F.query(con, flt):
            d = f.as_dict()
            d["evidence"] = json.dumps(d["evidence"], ensure_ascii=False) if d["evidence"] is not None else None
            w.writerow([for_sheet(mask_pii(v) if mask and isinstance(v, str) else v) for v in (d[c] for c in fields)])
        out.flush()
        return
    total = F.count(con, flt)
    rows = F.query(con, flt, limit=limit or None)
    console.print(_findings_table(rows, total, masked))
    if len(rows) < total:
        console.print(f"…… 另有 {total - len(rows)} 条，用 --limit 0 或 --format jsonl 查看全部")


def _findings_table(rows, total: int, masked=lambda v: v) -> Table:
    """Ids never fold (they are copied into `qc explain`); the explanation takes the rest of
    the width. Under 100 columns the day, agent and status columns give way."""
    from .findings import STATUS_ZH

    wide = console.width >= 100
    t = Table(title=f"质检问题 findings: {total} 条", expand=wide)
    if wide:
        t.add_column("日期", no_wrap=True)
    t.add_column("会话", no_wrap=True)
    t.add_column("条", justify="right", no_wrap=True)
    t.add_column("规则", no_wrap=True)
    if wide:
        t.add_column("客服", no_wrap=True, max_width=16, overflow="ellipsis")
    t.add_column("级", no_wrap=True)
    if wide:
        t.add_column("状态", no_wrap=True)
    t.add_column("说明", overflow="fold", ratio=1, min_width=16)
    for f in rows:
        cells = [T(f.conversation_id), "" if f.message_seq is None else str(f.message_seq), T(f.rule_id)]
        sev = T(SEV_ZH.get(f.severity, f.severity), SEV_STYLE.get(f.severity, ""))
        if wide:
            cells = [str(f.day)] + cells + [T(f.agent_id or ""), sev, STATUS_ZH.get(f.review_status, f.review_status)]
        else:
            cells = cells + [sev]
        t.add_row(*cells, T(masked(f.explanation)))
    return t


ROLE_ZH = {"customer": "顾客", "agent": "客服", "bot": "机器人", "system": "系统"}


@app.command()
def explain(
    conversation_id: str = typer.Argument(..., help="会话 ID"),
    db: Optional[Path] = DbOpt,
    mask: bool = typer.Option(False, "--mask/--no-mask", help="隐藏手机号、身份证号和地址 (mask PII; off: a QC specialist checks the address was confirmed)"),
):
    """显示会话全文并标出问题 (print a conversation with its findings, ids and review status marked inline)."""
    from .findings import STATUS_ZH, transcript

    from .pii import mask as mask_text

    con = _reader(db)
    tr = transcript(con, conversation_id)
    hide = mask_text if mask else (lambda v: v)
    if tr is None:
        raise QCError(f"找不到会话 {conversation_id!r} (conversation not found)")

    def flag(f, indent):
        line = Text(f"{indent}⚑ ", style=SEV_STYLE.get(f.severity, ""))
        line += T(f"[{f.rule_tag} · {SEV_ZH.get(f.severity, f.severity)} · {STATUS_ZH.get(f.review_status, f.review_status)}"
                  f" · id {f.finding_id}] ", SEV_STYLE.get(f.severity, ""))
        line += T(hide(f.explanation))
        if f.review_reason:
            line += T(f"（复核 {f.reviewer}: {f.review_reason}）", "dim")
        console.print(line)

    head = Text("会话 ", style="bold") + T(tr.conversation_id, "bold")
    head += T(f"  店铺 {tr.shop_id}  {'售后' if tr.queue == 'aftersales' else '售前'}  顾客 {tr.customer_id or '-'}  "
              f"客服 {', '.join(tr.agents)}  日期 {tr.day}  问题 {len(tr.findings)} 条")
    console.print(head)
    for f in tr.findings_at(None):
        flag(f, "  ")
    for m in tr.messages:
        who = ROLE_ZH.get(m.role, m.role) + (f"({m.agent_id})" if m.agent_id else "")
        gap = f" +{m.gap_s:.0f}s" if m.gap_s is not None and m.gap_s >= 30 else ""
        line = T(f"{m.seq:>3} {m.ts_local:%H:%M:%S}{gap} {who}: ", "dim" if m.role in ("bot", "system") else "")
        text = hide(m.text)
        shown = text if m.msg_type in ("text", "emoji", "other") else f"[{m.msg_type}] {text}"
        offset = 0 if m.msg_type in ("text", "emoji", "other") else len(m.msg_type) + 3
        body = T(shown)
        for f in tr.findings_at(m.seq):
            if f.span_start is not None and f.span_end is not None and text == m.text:
                body.stylize("bold reverse red", f.span_start + offset, f.span_end + offset)
        console.print(line + body)
        for f in tr.findings_at(m.seq):
            flag(f, "      ")


class Kind(str, Enum):
    positive = "positive"
    hard_negative = "hard_negative"
    paraphrase = "paraphrase"


@app.command("eval")
def eval_cmd(
    cases: Optional[Path] = typer.Option(None, "--cases", help="标注用例文件夹 (default tests/rule_cases)"),
    kind: Optional[List[Kind]] = typer.Option(None, "--kind", help="只评估某类用例: positive | hard_negative | paraphrase"),
    sample: Optional[Path] = typer.Option(None, "--sample", help="生成样例文件夹 (with ground_truth.jsonl) instead of the cases"),
    show_errors: bool = typer.Option(False, "--errors", help="列出判错的用例"),
    no_models: bool = typer.Option(False, "--no-models", help="只用词库，不用分类模型 (lexicons only: the 'before')"),
    markdown: bool = typer.Option(False, "--markdown", help="输出 Markdown 表格 (for the README)"),
    real: Optional[Path] = typer.Option(None, "--real", help="真实聊天 (real chats, qc input format; see bench/real_eval.md)"),
    labels: Optional[Path] = typer.Option(None, "--labels", help="盲标标签 (blind labels: a .jsonl file or a folder, one file per labeller)"),
):
    """每条规则的准确率与召回率 (per-rule precision and recall on labeled data)."""
    import tempfile

    from .evaluate import evaluate_cases, evaluate_ground_truth

    if real is not None or labels is not None:
        return _eval_real(real, labels, no_models, show_errors, markdown)

    if sample is not None and not (sample / "ground_truth.jsonl").exists():
        raise QCError(f"--sample {sample}: 缺少 ground_truth.jsonl (not a generated sample folder; make one with qc sample)")
    if cases is not None and not cases.is_dir():
        raise QCError(f"--cases {cases}: 不是文件夹 (not a folder of <rule_id>.yaml case files)")
    with tempfile.TemporaryDirectory() as tmp:
        if sample:
            from .ingest import ingest_paths
            from .inspect import inspect as run_inspect

            con = store.connect(Path(tmp) / "s.duckdb")
            ingest_paths(con, [sample / "chats.jsonl", sample / "orders.jsonl"])
            run_inspect(con, all_=True, use_models=not no_models)
            scores, mistakes = evaluate_ground_truth(con, sample / "ground_truth.jsonl"), {}
            con.close()
        else:
            scores, mistakes = evaluate_cases(Path(tmp), cases, tuple(k.value for k in kind) if kind else None,
                                              use_models=not no_models)
    if markdown:
        print("| rule_id | cases | TP | FP | FN | precision | recall |\n|---|---:|---:|---:|---:|---:|---:|")
        for rid in sorted(scores):
            s = scores[rid]
            print(f"| {rid} | {s.cases or '-'} | {s.tp} | {s.fp} | {s.fn} | {s.precision:.3f} | {s.recall:.3f} |")
        return
    t = Table(title="规则评估 (rule evaluation)")
    for col in ("rule_id", "用例", "TP", "FP", "FN", "precision", "recall"):
        t.add_column(col, justify="right" if col != "rule_id" else "left", no_wrap=True)
    for rid in sorted(scores):
        s = scores[rid]
        t.add_row(rid, str(s.cases or "-"), str(s.tp), str(s.fp), str(s.fn), f"{s.precision:.3f}", f"{s.recall:.3f}")
    console.print(t)
    if show_errors:
        for rid, ms in sorted(mistakes.items()):
            for name, k, exp, got in ms:
                console.print(T(f"  {rid}  {name} ({k}): 期望 {exp} 实际 {got}"))


def _eval_real(real, labels, no_models, show_errors, markdown):
    from .real_eval import RULES, evaluate_real

    if real is None or labels is None:
        raise QCError("--real 与 --labels 需同时给出 (give both --real FILE and --labels PATH)")
    for p, what in ((real, "--real"), (labels, "--labels")):
        if not p.exists():
            raise QCError(f"{what} {p}: 不存在 (not found); see bench/real_eval.md")
    r = evaluate_real(real, labels, use_models=not no_models)
    fmt = lambda v: "-" if v is None else f"{v:.2f}"
    head = (f"真实聊天 {r['conversations']} 个会话，客服消息 {r['agent_messages']} 条；语气告警占客服消息 "
            f"{r['tone_alarm_rate']:.2%}；模型 {', '.join(r['models'].values())}")
    if markdown:
        print(head + "\n")
        print("| rule | labeller | findings judged | true | precision | labelled positives | found | recall |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for rid in RULES:
            for who, sc in r["scores"].items():
                s = sc[rid]
                print(f"| {rid} | {who} | {s.findings} | {s.tp} | {fmt(s.precision)} | {s.positives} | {s.found} | {fmt(s.recall)} |")
        return
    console.print(T(head))
    for note in r["notes"]:
        console.print(T(f"注意 {note}", "yellow"))
    t = Table(title="真实聊天评估 (real-chat evaluation, blind labels)")
    for col in ("rule", "标注人", "判定数", "正确", "precision", "标注正例", "找到", "recall"):
        t.add_column(col, no_wrap=True, justify="left" if col in ("rule", "标注人") else "right")
    for rid in RULES:
        for who, sc in r["scores"].items():
            s = sc[rid]
            t.add_row(rid, who, str(s.findings), str(s.tp), fmt(s.precision), str(s.positives), str(s.found), fmt(s.recall))
    console.print(t)
    sig = Table(title="missing_apology 按投诉信号 (by the signal that saw the complaint: judged / true)")
    for col in ("标注人", "lexicon 词库", "pattern 句式", "model 仅模型"):
        sig.add_column(col, no_wrap=True)
    for who, sc in r["scores"].items():
        bs = sc["missing_apology"].by_signal
        sig.add_row(who, *(f"{bs.get(k, [0, 0])[0]} / {bs.get(k, [0, 0])[1]}" for k in ("lexicon", "pattern", "model")))
    console.print(sig)
    if r["agreement"]:
        a = Table(title="两位标注人的一致性 (agreement: items both marked / only the first / only the second)")
        for col in ("label", "both", "only A", "only B"):
            a.add_column(col, no_wrap=True)
        for kind, v in r["agreement"].items():
            a.add_row(kind, str(v["both"]), str(v["only_a"]), str(v["only_b"]))
        console.print(a)
    if show_errors:
        for who, sc in r["scores"].items():
            for rid in RULES:
                for conv, seq, text in sc[rid].false_alarms:
                    console.print(T(f"  误报 {who} {rid} {conv}#{seq}: {text[:80]}"))
                for conv, seq, text in sc[rid].misses:
                    console.print(T(f"  漏报 {who} {rid} {conv}#{seq}: {text[:80]}"))


@app.command("rules")
def rules_cmd(
    what: Optional[str] = typer.Argument(None, help="stats: 每条规则的实测准确率 (measured precision from the review decisions)"),
    markdown: bool = typer.Option(False, "--markdown", help="输出 docs/rules.md 的规则参考 (the generated rule reference)"),
    db: Optional[Path] = DbOpt,
    fmt: Format = typer.Option(Format.table, "--format", help="stats: jsonl | csv | table"),
):
    """列出全部规则及其参数 (every rule: id, category, severity, parameters in effect); `qc rules stats`: precision per rule from reviews."""
    from .rules import RULES
    from .rules.doc import reference_markdown

    if what is not None:
        if what != "stats":
            raise QCError(f"qc rules {what!r}: 只有 stats (the only sub-command is `qc rules stats`)")
        return _rules_stats(db, fmt)
    if markdown:
        sys.stdout.write(reference_markdown())
        return
    cfg = _config()
    t = Table(title=f"质检规则 ({cfg.source})")
    t.add_column("rule_id", no_wrap=True)
    t.add_column("名称", no_wrap=True)
    t.add_column("类别", no_wrap=True)
    t.add_column("级", no_wrap=True)
    t.add_column("参数 (生效值)", overflow="fold")
    for r in RULES:
        params = cfg.rule_params(r.id)
        on = cfg.rule_enabled(r.id)
        t.add_row(r.id + ("" if on else " (关闭)"), r.name, r.category, SEV_ZH.get(r.severity, "词库"),
                  "\n".join(f"{k}={v}" for k, v in params.items()) or "-")
    console.print(t)


def _rules_stats(db, fmt) -> None:
    from .review import rule_stats

    con = _reader(db)
    stats = rule_stats(con)
    if fmt is Format.jsonl:
        for s_ in stats:
            sys.stdout.write(json.dumps(s_, ensure_ascii=False) + "\n")
        return
    if fmt is Format.csv:
        out = _csv_out()
        w = csv.writer(out)
        w.writerow(["rule_id", "findings", "reviewed", "confirmed", "dismissed", "precision", "ci_low", "ci_high"])
        for s_ in stats:
            w.writerow([s_[k] for k in ("rule_id", "findings", "reviewed", "confirmed", "dismissed", "precision", "ci_low", "ci_high")])
        out.flush()
        return
    t = Table(title="规则实测准确率 (确认 / (确认 + 驳回), 95% Wilson 区间)")
    for c in ("规则", "问题", "已复核", "确认", "驳回", "准确率", "95% 区间", "主要驳回原因"):
        t.add_column(c, no_wrap=c != "主要驳回原因", overflow="fold")
    for s_ in stats:
        p = s_["precision"]
        t.add_row(T(s_["rule_id"]), str(s_["findings"]), str(s_["reviewed"]), str(s_["confirmed"]), str(s_["dismissed"]),
                  "-" if p is None else f"{p:.1%}",
                  "-" if p is None else f"{s_['ci_low']:.1%}–{s_['ci_high']:.1%}",
                  T("，".join(f"{r['reason']}×{r['count']}" for r in s_["dismiss_reasons"][:3])))
    console.print(t)


@app.command("review")
def review_cmd(
    args: List[str] = typer.Argument(..., help="FINDING_ID，或 add CONVERSATION SEQ RULE (SEQ `-` = the whole conversation)"),
    confirm: bool = typer.Option(False, "--confirm", help="确认 (confirm the finding)"),
    dismiss: bool = typer.Option(False, "--dismiss", help="驳回 (dismiss it; needs --reason)"),
    appeal: bool = typer.Option(False, "--appeal", help="申诉 (an agent appeals a confirmed finding; needs --reason)"),
    uphold: bool = typer.Option(False, "--uphold", help="申诉成立 (a second reviewer withdraws the appealed finding)"),
    reject: bool = typer.Option(False, "--reject", help="申诉驳回 (a second reviewer keeps it)"),
    reason: Optional[str] = typer.Option(None, "--reason", help="原因 (reason)"),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="复核人 (default: $USER)"),
    severity: str = typer.Option("medium", "--severity", help="add: low | medium | high | redline"),
    category: Optional[str] = typer.Option(None, "--category", help="add: 业务类 | 能力类 | 态度类 (default: the rule's)"),
    db: Optional[Path] = DbOpt,
):
    """复核 (decide a finding from scripts: --confirm | --dismiss --reason R | --appeal | --uphold | --reject; `qc review add CONV SEQ RULE` adds a manual finding)."""
    import os

    from . import findings as F
    from .review import Journal, User
    from .rules import BY_ID

    name = reviewer or os.environ.get("USER") or "cli"
    if not store.default_db_path(db).exists():
        store.open_reader(db)
    con = _writer(db)            # applies what the journal holds, so the status read is current
    journal = Journal.open(store.default_db_path(db))
    if args[0] == "add":
        if len(args) != 4:
            raise QCError("用法 (usage): qc review add CONVERSATION SEQ RULE [--severity S --category C --reason R]")
        conv, seq, rule_id = args[1:]
        if rule_id != "manual" and rule_id not in BY_ID:
            raise QCError("RULE " + _suggest(rule_id, list(BY_ID) + ["manual"], "规则 rule"))
        seq_i = None if seq == "-" else _int_arg(seq, "SEQ")
        n = con.execute("SELECT count(*) FROM messages WHERE conversation_id = ? AND (? IS NULL OR seq = ?)",
                        [conv, seq_i, seq_i]).fetchone()[0]
        if not n:
            raise QCError(f"找不到会话 {conv!r} 的第 {seq} 条消息 (no such conversation or message)")
        cat = category or (BY_ID[rule_id].category if rule_id in BY_ID else "能力类")
        fid = journal.add_manual(User(name, "qc"), conv, seq_i, rule_id, severity, cat, reason)
        journal.apply_pending(con)
        console.print(T(f"已添加人工问题 {fid}（{rule_id}，会话 {conv} 第 {seq} 条）"))
        return
    if len(args) != 1:
        raise QCError("用法 (usage): qc review FINDING_ID --confirm | --dismiss --reason R")
    actions = [a for a, on in (("confirm", confirm), ("dismiss", dismiss), ("appeal", appeal), ("uphold", uphold),
                               ("reject", reject)) if on]
    if len(actions) != 1:
        raise QCError("请给出且只给出一个操作 (give exactly one of --confirm --dismiss --appeal --uphold --reject)")
    f = F.get(con, args[0])
    if f is None:
        raise QCError(f"找不到问题 {args[0]!r} (no such finding; ids are in `qc findings`)")
    actor = User(name, "agent", agent_id=f.agent_id) if actions[0] == "appeal" else User(name, "qc")
    row = journal.decide(actor, f, actions[0], reason)
    journal.apply_pending(con)
    from .findings import STATUS_ZH

    console.print(T(f"已保存：{f.finding_id} → {STATUS_ZH.get(row['decision'], row['decision'])}（{name}）"))


def _int_arg(v: str, what: str) -> int:
    try:
        return int(v)
    except ValueError:
        raise QCError(f"{what} {v!r} 必须是整数 (must be an integer)") from None


user_app = typer.Typer(help="控制台用户 (review console users: qc user add NAME --role R)", no_args_is_help=True)
app.add_typer(user_app, name="user")


class Role(str, Enum):
    admin = "admin"
    qc = "qc"
    lead = "lead"
    agent = "agent"


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="用户名"),
    role: Role = typer.Option(..., "--role", help="admin | qc (质检) | lead (组长: --team) | agent (客服: --agent)"),
    team: Optional[str] = typer.Option(None, "--team", help="组长所管店铺 (the shop_id a lead sees)"),
    agent: Optional[str] = typer.Option(None, "--agent", help="客服的 agent_id (default: the user name)"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读密码 (read the password from stdin)"),
    db: Optional[Path] = DbOpt,
):
    """添加控制台用户 (add a console user; the first admin comes from here). Prompts for the password."""
    import getpass

    from .review import Journal

    if password_stdin:
        pw = sys.stdin.readline().rstrip("\n")
    else:
        pw = getpass.getpass("密码 (password): ")
        if getpass.getpass("再输入一次 (again): ") != pw:
            raise QCError("两次输入的密码不一致 (the passwords differ)")
    journal = Journal.open(store.default_db_path(db))
    u = journal.add_user(name, role.value, pw, team=team, agent_id=agent)
    console.print(T(f"已添加用户 {u.name}（{u.role}{'，店铺 ' + u.team if u.team else ''}{'，客服 ' + u.agent_id if u.agent_id else ''}）"))


@user_app.command("list")
def user_list(db: Optional[Path] = DbOpt):
    """列出控制台用户 (list console users)."""
    from .review import Journal

    journal = Journal.existing(store.default_db_path(db))
    t = Table(title="控制台用户")
    for c in ("用户", "角色", "店铺", "客服"):
        t.add_column(c, no_wrap=True)
    for u in (journal.users() if journal else []):
        t.add_row(T(u.name), u.role, T(u.team or ""), T(u.agent_id or ""))
    console.print(t)


@app.command("web")
def web_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址 (0.0.0.0 for the team's network)"),
    port: int = typer.Option(8000, "--port", help="端口"),
    db: Optional[Path] = DbOpt,
    sync_s: float = typer.Option(2.0, "--sync-s", help="多久同步一次数据库 (seconds between syncs with the database)"),
):
    """质检工作台 (the review console: queue, conversations, decisions, appeals, spot checks, precision per rule)."""
    import uvicorn

    from .review import Journal
    from .web.app import create_app

    path = store.default_db_path(db)
    store.open_reader(path).close()          # clear errors for a missing or foreign file
    journal = Journal.open(path)
    if not journal.users():
        console.print(T(f"还没有用户：先运行 qc user add NAME --role admin --db {path} (no users yet)"))
    app_ = create_app(path, sync_s=sync_s)
    app_.state.wc.first_copy()               # a busy database is one clear line here, not a traceback in uvicorn
    console.print(T(f"质检工作台: http://{host}:{port}/  (数据库 {path}; Ctrl-C 停止)"))
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command("doctor")
def doctor_cmd(
    db: Optional[Path] = DbOpt,
    repair: bool = typer.Option(False, "--repair", help="修复能修复的问题 (repair what can be repaired)"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
):
    """检查数据库 (check a database: schema, interrupted runs, derived rows, numbering, orphans) and repair with --repair."""
    from . import doctor

    con = _reader(db)               # refuses a missing, foreign or newer file with a clear message
    version = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
    if repair:
        con.close()
        _OPEN.remove(con)
        con = _writer(db)
    rows = doctor.run(con, repair=repair)
    if as_json:
        print(json.dumps({"schema_version": version, "latest": store.LATEST, "checks": rows}, ensure_ascii=False))
    else:
        console.print(f"数据库 {for_terminal(store.default_db_path(db))}: schema {version} (最新 {store.LATEST})")
        t = Table(title="检查 (doctor)")
        t.add_column("检查项", overflow="fold")
        t.add_column("问题", justify="right", no_wrap=True)
        if repair:
            t.add_column("修复后", justify="right", no_wrap=True)
        for r in rows:
            cells = [r["name"], str(r["problems"])] + ([str(r["remaining"])] if repair else [])
            t.add_row(*cells, style="" if not r["problems"] else "yellow" if r["repairable"] else "red")
        console.print(t)
        if not repair and any(r["problems"] and r["repairable"] for r in rows):
            console.print("修复: qc doctor --repair")
    if any(r["remaining"] for r in rows if r["repairable"]):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- scorecard


class CardFormat(str, Enum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"
    xlsx = "xlsx"


@app.command("scorecard")
def scorecard_cmd(
    period: str = typer.Option(..., "--period", help="考核周期 YYYY-MM"),
    db: Optional[Path] = DbOpt,
    team: Optional[str] = typer.Option(None, "--team", help="只看某个店铺的团队 (shop_id)"),
    fmt: CardFormat = typer.Option(CardFormat.table, "--format", help="table | csv | jsonl | xlsx"),
    out: Optional[Path] = typer.Option(None, "--out", help="xlsx 输出文件 (default: scorecard-PERIOD.xlsx)"),
    headers: Headers = typer.Option(Headers.zh, "--headers", help="csv 表头: zh (Excel) | en (field names)"),
):
    """绩效考核表 (per-agent KPIs, quality score, points, pay and quadrant for a month)."""
    from .scorecard import COLUMNS, scorecard, write_xlsx

    parse_period(period)
    con = _reader(db)
    _require_inspection(con, "qc scorecard")
    pending = con.execute("SELECT count(*) FROM conversations WHERE needs_inspection AND strftime(day, '%Y-%m') = ?",
                          [period]).fetchall()[0][0]
    if team is not None:
        teams = [r[0] for r in con.execute("SELECT DISTINCT shop_id FROM conversations ORDER BY 1").fetchall()]
        if team not in teams:
            raise QCError("--team " + _suggest(team, teams, "店铺 team"))
    rows = scorecard(con, period, team=team)
    if pending:
        err.print(T(f"注意: {period} 有 {pending} 个会话尚未质检，考核表不含它们 (not yet inspected; run qc inspect)", "yellow"))
    if fmt is CardFormat.jsonl:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
    elif fmt is CardFormat.csv:
        from .safety import for_sheet

        o = _csv_out()
        w = csv.writer(o)
        w.writerow([zh if headers is Headers.zh else k for k, zh in COLUMNS])
        for r in rows:
            w.writerow([for_sheet(r.get(k)) for k, _ in COLUMNS])
        o.flush()
    elif fmt is CardFormat.xlsx:
        path = out or Path(f"scorecard-{period}.xlsx")
        write_xlsx(rows, path, period, con=con)
        console.print(T(f"已写入 {path} ({len(rows)} 名客服)"))
    else:
        console.print(_scorecard_table(rows, period, team, dict(COLUMNS)))
        if not rows:
            console.print(f"该周期没有数据 (no inspected conversations in {period})")


def _scorecard_table(rows, period, team, names) -> Table:
    wide = console.width >= 120
    keys = (["agent_id", "role_group", "conversations", "payment_conversion", "sales", "avg_first_response_s",
             "quality_score", "total_points", "max_points", "pay", "quadrant"] if wide else
            ["agent_id", "conversations", "payment_conversion", "quality_score", "total_points", "pay", "quadrant"])
    short = {"conversations": "会话", "payment_conversion": "付款转化", "quality_score": "质检分", "total_points": "总分",
             "pay": "应发", "quadrant": "评定", "avg_first_response_s": "首响秒", "max_points": "满分", "role_group": "岗位"}
    t = Table(title=f"绩效考核 {period}" + (f" · {for_terminal(team)}" if team else ""), expand=wide)
    for k in keys:
        t.add_column(short.get(k, names[k]) if not wide else names[k], no_wrap=True,
                     justify="left" if k in ("agent_id", "quadrant", "role_group") else "right")
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k)
            cells.append(T("-" if v is None else f"{v:.1%}" if k == "payment_conversion" else str(v)))
        t.add_row(*cells)
    return t


report_app = typer.Typer(help="组长报告 (team-lead reports: one agent, or the team; HTML or Excel by the --out suffix)",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")


def _report_rows(db, period, team):
    from .scorecard import scorecard

    parse_period(period)
    con = _reader(db)
    _require_inspection(con, "qc report")
    return con, scorecard(con, period, team=team)


def _check_out(out: Path) -> str:
    kind = out.suffix.lower()
    if kind not in (".html", ".xlsx"):
        raise QCError(f"--out {out}: 扩展名必须是 .html 或 .xlsx (the report format follows the file suffix)")
    if not out.parent.exists():
        raise QCError(f"--out {out}: 文件夹不存在 (folder not found)")
    return kind


def _write_report(out: Path, kind: str, html_page, write_xlsx) -> None:
    if kind == ".html":
        out.write_text(html_page(), encoding="utf-8")
    else:
        write_xlsx()
    console.print(T(f"已写入 {out}"))


@report_app.command("agent")
def report_agent(
    agent: str = typer.Argument(..., help="客服 (agent_id)"),
    period: str = typer.Option(..., "--period", help="周期 YYYY-MM"),
    out: Path = typer.Option(..., "--out", help="输出文件 .html 或 .xlsx"),
    db: Optional[Path] = DbOpt,
):
    """单个客服的质检报告 (one agent: score trend, findings by rule and kind, KPIs vs the team median, examples)."""
    from .reports import agent_report_html, write_report_xlsx

    kind = _check_out(out)
    con, rows = _report_rows(db, period, None)
    _check_agent(con, agent)
    _write_report(out, kind, lambda: agent_report_html(con, rows, agent, period),
                  lambda: write_report_xlsx(con, rows, out, period, agent=agent))


@report_app.command("team")
def report_team(
    period: str = typer.Option(..., "--period", help="周期 YYYY-MM"),
    out: Path = typer.Option(..., "--out", help="输出文件 .html 或 .xlsx"),
    team: Optional[str] = typer.Option(None, "--team", help="只看某个店铺 (shop_id)"),
    db: Optional[Path] = DbOpt,
):
    """团队质检报告 (ranking, score distribution, rule x agent heat-map, quadrant, trend, lost inquiries, problem statistics)."""
    from .reports import team_report_html, write_report_xlsx

    kind = _check_out(out)
    con, rows = _report_rows(db, period, team)
    _write_report(out, kind, lambda: team_report_html(con, rows, period, team),
                  lambda: write_report_xlsx(con, rows, out, period, team=team))


@app.command("spotcheck")
def spotcheck_cmd(
    period: str = typer.Option(..., "--period", help="考核周期 YYYY-MM"),
    rate: float = typer.Option(0.05, "--rate", min=0.0, max=1.0, help="每位客服抽检比例 (share of each agent's conversations), 0–1"),
    seed: int = typer.Option(0, "--seed", help="随机种子 (same seed, same draw)"),
    by: str = typer.Option("qc spotcheck", "--by", help="抽检人 (who drew the sample)"),
    db: Optional[Path] = DbOpt,
):
    """抽检：按比例为每位客服抽取会话 (draw a spot-check sample; scorecard `over: sampled` scores only these)."""
    from .scorecard import draw_spot_checks

    parse_period(period)
    if rate <= 0:
        raise QCError(f"--rate {rate} 必须大于 0 (must be in (0, 1])")
    if not store.default_db_path(db).exists():
        store.open_reader(db)       # the clear "database not found" error
    con = _writer(db)
    _require_inspection(con, "qc spotcheck")
    rows = draw_spot_checks(con, period, rate, seed=seed, drawn_by=by)
    t = Table(title=f"抽检 {period}: 新抽取 {len(rows)} 个会话 (rate {rate:.0%}, seed {seed})")
    t.add_column("客服 agent", no_wrap=True)
    t.add_column("会话 conversation", no_wrap=True)
    for agent, conv in rows:
        t.add_row(T(agent), T(conv))
    console.print(t)


class Backend(str, Enum):
    sklearn = "sklearn"
    spacy = "spacy"
    both = "both"


class Task(str, Enum):
    customer_intent = "customer_intent"
    agent_act = "agent_act"


@app.command("train")
def train_cmd(
    task: Optional[List[Task]] = typer.Option(None, "--task", help="customer_intent | agent_act (default: both)"),
    backend: Backend = typer.Option(Backend.both, "--backend", help="sklearn | spacy | both (both: train both, keep the better)"),
    with_reviews: bool = typer.Option(False, "--with-reviews", help="把已复核的问题加入训练 (add reviewed findings as examples)"),
    db: Optional[Path] = DbOpt,
    version: Optional[str] = typer.Option(None, "--version", help="版本名 (default: date-datahash)"),
):
    """训练分类模型 (train the classifiers; writes models/<task>/<version>/ with its model card)."""
    from .classify import TASKS, train

    con = _reader(db) if with_reviews else None
    for t in [x.value for x in task] if task else list(TASKS):
        meta = train(t, backend=backend.value, con=con, with_reviews=with_reviews, version=version)
        comp = ", ".join(f"{b} macro-F1 {c['macro_f1']:.3f}" for b, c in meta["comparison"].items())
        console.print(f"{t}@{meta['version']}: 采用 {meta['backend']} ({comp}); "
                      f"训练 {meta['train_examples']} 条（复核 {meta['review_examples']} 条），测试 {meta['test_examples']} 条")


def _load_plugins() -> None:
    """Commands contributed by other installed packages (entry point group `qc.plugins`),
    e.g. pipelines' `qc flow`. Loaded only when the CLI runs, never on `import qc`."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="qc.plugins"):
        try:
            ep.load()(app)
        except Exception as exc:  # a broken plugin must not take the CLI down
            _error(f"插件 {ep.name} 无法加载 (plugin failed to load): {exc}")


# Batch commands that end the process without Python's teardown once they are done (their
# store closed by _Group.invoke, their output flushed): freeing a million-row process's objects
# one by one took 0.05-0.18 s of each night command. Not the servers (qc web, the flows' qc
# serve), whose exit handlers stop what they started.
_FAST_EXIT = {"ingest", "inspect", "scorecard", "report", "findings", "explain", "quarantine", "eval", "rules", "doctor"}


def main():  # pragma: no cover
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if command in _FAST_EXIT:
        # A batch command is a short process whose objects are not cyclic garbage: Python's
        # cyclic collector only re-traversed what it built (a million hits as tuples, 20,000
        # findings as objects) — `qc inspect` at 1M 0.1 s faster without it.
        import gc

        gc.disable()
    _load_plugins()
    try:
        app()
    except SystemExit as exc:
        if command not in _FAST_EXIT:
            raise
        code = exc.code
        if isinstance(code, str):       # sys.exit("message"): Python prints it and exits 1
            print(code, file=sys.stderr)
            code = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
