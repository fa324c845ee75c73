"""`qc` — the command line (bilingual help; output in Simplified Chinese).

Interactive commands call the library directly: a person running `qc ingest` by hand
should not wait 7–17 s for Prefect's ephemeral server to start (DESIGN.md, measured).
The same library functions run inside the Prefect flows in `pipelines/` for the
scheduled, observed nightly run; `qc inspect --flow` runs the Prefect flow on demand.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import store
from .errors import QCError
from .safety import safe_cell

app = typer.Typer(
    help="客服质检 — chat-transcript quality inspection. 导入聊天记录、质检、查看问题、绩效考核。",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

DbOpt = typer.Option(None, "--db", help="DuckDB 文件 (default: $QC_DB or ./data/qc.duckdb)")


def _fail(msg: str, code: int = 2):
    err.print(f"[bold red]错误[/] {msg}", markup=True, highlight=False)
    raise typer.Exit(code)


@app.command()
def ingest(
    paths: List[Path] = typer.Argument(..., help="文件或文件夹 (.jsonl .json .csv; UTF-8 / GBK / GB18030)"),
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出统计 (print counts as JSON)"),
):
    """导入聊天记录和订单 (ingest chats and orders); prints read / ingested / duplicate / quarantined."""
    from .ingest import ingest_paths

    try:
        con = store.connect(db)
        report = ingest_paths(con, paths)
    except QCError as exc:
        _fail(str(exc))
    d = report.as_dict()
    if as_json:
        print(json.dumps(d, ensure_ascii=False))
    else:
        t = Table(title=f"导入结果 (ingest run {report.run_id})")
        for col in ("文件", "编码", "读取 read", "导入 ingested", "重复 duplicate", "隔离 quarantined"):
            t.add_column(col, overflow="fold")
        for f in report.files:
            if f.error:
                t.add_row(f.file, "-", "-", "-", "-", f"[red]无法读取: {f.error}[/]")
            else:
                t.add_row(f.file, f.encoding, str(f.read), str(f.ingested), str(f.duplicate), str(f.quarantined))
        console.print(t)
        console.print(
            f"读取 read={d['read']}  导入 ingested={d['ingested']} (订单 orders {d['orders_ingested']})  "
            f"重复 duplicate={d['duplicate']}  隔离 quarantined={d['quarantined']}",
            highlight=False,
        )
        if d["late_conversations"]:
            console.print(f"迟到消息并入 {d['late_conversations']} 个已有会话，已标记为待重新质检。")
        if d["quarantined"]:
            console.print("被隔离的行: [bold]qc quarantine[/]")
    for e in d["errors"]:
        err.print(f"[bold red]错误[/] {e}", highlight=False)
    if d["errors"]:
        raise typer.Exit(1)


@app.command()
def quarantine(
    db: Optional[Path] = DbOpt,
    file: Optional[str] = typer.Option(None, "--file", help="只看某个文件 (only rows from this file path)"),
    limit: int = typer.Option(50, "--limit", help="最多显示多少行"),
    fmt: str = typer.Option("table", "--format", help="table | jsonl"),
):
    """列出被隔离的坏行 (list quarantined rows: file, line, field, reason)."""
    con = store.connect(db)
    sql = "SELECT file, line, field, reason, raw FROM quarantine"
    params: list = []
    if file:
        sql += " WHERE file = ?"
        params.append(file)
    total = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    rows = con.execute(sql + " ORDER BY file, line LIMIT ?", params + [limit]).fetchall()
    if fmt == "jsonl":
        for r in rows:
            print(json.dumps(dict(zip(("file", "line", "field", "reason", "raw"), r)), ensure_ascii=False))
        return
    t = Table(title=f"隔离区 quarantine: {total} 行")
    for col in ("文件", "行", "字段", "原因", "原始内容"):
        t.add_column(col, overflow="fold")
    for f, line, field, reason, raw in rows:
        t.add_row(f, str(line), field, reason, (raw or "")[:120])
    console.print(t)


@app.command()
def sample(
    conversations: int = typer.Option(300, "--conversations", "-n", help="会话数 (number of conversations)"),
    seed: int = typer.Option(7, "--seed", help="随机种子 (deterministic output)"),
    out: Path = typer.Option(Path("data/generated"), "--out", help="输出文件夹"),
    start: str = typer.Option("2026-11-01", "--start", help="第一天 (first day)"),
    days: int = typer.Option(7, "--days", help="天数"),
):
    """生成样例数据及其标注 (generate sample chats, orders and ground-truth findings)."""
    from .sample import generate

    counts = generate(out, conversations=conversations, seed=seed, start=start, days=days)
    console.print_json(json.dumps(counts, ensure_ascii=False))



# --------------------------------------------------------------------------- inspection


@app.command("inspect")
def inspect_cmd(
    db: Optional[Path] = DbOpt,
    date: Optional[str] = typer.Option(None, "--date", help="只质检这一天的会话 (YYYY-MM-DD, shop-local day)"),
    all_: bool = typer.Option(False, "--all", help="质检全部会话 (re-inspect everything)"),
    flow: bool = typer.Option(False, "--flow", help="作为 Prefect flow 运行 (run as the Prefect flow `inspect`)"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出 (print the run summary as JSON)"),
):
    """质检 (run the inspection): by default the conversations that are new or got late messages."""
    if date and all_:
        _fail("--date 与 --all 只能选一个 (choose one of --date / --all)")
    try:
        if flow:
            from pipelines.inspect_flow import inspect_flow

            d = inspect_flow(db=str(store.default_db_path(db)), date=date, all_=all_)
        else:
            from .inspect import inspect as run_inspect

            con = store.connect(db)
            d = run_inspect(con, day=date, all_=all_).as_dict()
    except QCError as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(d, ensure_ascii=False))
        return
    console.print(
        f"质检完成 run {d['run_id']} ({d['scope']}): 会话 {d['conversations']}，消息 {d['messages']}，"
        f"问题 {d['findings']}，用时 {d['stages'].get('total', 0):.2f} 秒",
        highlight=False,
    )
    t = Table(title="各规则问题数 (findings by rule)")
    t.add_column("rule_id")
    t.add_column("数量", justify="right")
    for rid, n in d["by_rule"].items():
        t.add_row(rid, str(n))
    console.print(t)
    if d.get("models"):
        console.print("分类模型 (classifiers): " + ", ".join(
            tag if tag != "none" else f"{task}: 未使用 (lexicons only)" for task, tag in d["models"].items()), highlight=False)
    for note in d.get("notes", []):
        console.print(f"[yellow]注意[/] {note}")


FINDING_FIELDS = (
    "finding_id", "conversation_id", "rule_id", "rule_version", "message_seq", "agent_id", "shop_id", "day",
    "severity", "category", "subcategory", "span_start", "span_end", "evidence", "explanation", "source",
    "score", "review_status",
)


def _findings_query(con, rule, agent, date, conversation=None):
    sql = f"SELECT {', '.join(FINDING_FIELDS[:-1])}, 'pending' AS review_status FROM findings WHERE 1=1"
    params: list = []
    for col, val in (("rule_id", rule), ("agent_id", agent), ("conversation_id", conversation)):
        if val:
            sql += f" AND {col} = ?"
            params.append(val)
    if date:
        sql += " AND day = ?::DATE"
        params.append(date)
    sql += " ORDER BY day, conversation_id, message_seq NULLS FIRST, rule_id"
    return con.execute(sql, params).fetchall()


@app.command()
def findings(
    db: Optional[Path] = DbOpt,
    fmt: str = typer.Option("table", "--format", help="jsonl | csv | table"),
    rule: Optional[str] = typer.Option(None, "--rule", help="只看某条规则 (rule_id)"),
    agent: Optional[str] = typer.Option(None, "--agent", help="只看某个客服 (agent_id)"),
    date: Optional[str] = typer.Option(None, "--date", help="只看某一天 (YYYY-MM-DD)"),
    limit: int = typer.Option(200, "--limit", help="table 格式最多显示多少行"),
    mask: bool = typer.Option(True, "--mask/--no-mask", help="csv 中隐藏手机号和地址 (mask phones/addresses in csv, which leaves the team)"),
):
    """列出质检问题 (list findings) — jsonl/csv for other tools, table for people."""
    if fmt not in ("jsonl", "csv", "table"):
        _fail(f"未知格式 {fmt!r}; 可选 jsonl | csv | table")
    con = store.connect(db)
    rows = _findings_query(con, rule, agent, date)
    if fmt == "jsonl":
        out = sys.stdout
        for r in rows:
            d = dict(zip(FINDING_FIELDS, r))
            d["day"] = str(d["day"]) if d["day"] else None
            d["evidence"] = json.loads(d["evidence"]) if d["evidence"] else None
            out.write(json.dumps(d, ensure_ascii=False) + "\n")
        return
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(FINDING_FIELDS)
        from .safety import mask_pii

        for r in rows:
            w.writerow([safe_cell(mask_pii(v) if mask and isinstance(v, str) else v) for v in r])
        return
    t = Table(title=f"质检问题 findings: {len(rows)} 条")
    for col in ("日期", "会话", "条", "规则", "客服", "严重度", "说明"):
        t.add_column(col, overflow="fold")
    for r in rows[:limit]:
        d = dict(zip(FINDING_FIELDS, r))
        t.add_row(str(d["day"]), d["conversation_id"], "" if d["message_seq"] is None else str(d["message_seq"]),
                  d["rule_id"], d["agent_id"] or "", d["severity"], d["explanation"])
    console.print(t)
    if len(rows) > limit:
        console.print(f"…… 另有 {len(rows) - limit} 条，用 --limit 或 --format jsonl 查看全部")


ROLE_ZH = {"customer": "顾客", "agent": "客服", "bot": "机器人", "system": "系统"}
SEV_STYLE = {"redline": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan"}


@app.command()
def explain(
    conversation_id: str = typer.Argument(..., help="会话 ID"),
    db: Optional[Path] = DbOpt,
):
    """显示会话全文并标出问题 (print a conversation with its findings marked inline)."""
    from rich.markup import escape
    from rich.text import Text

    con = store.connect(db)
    conv = con.execute(
        "SELECT shop_id, queue, customer_id, agents, started_at, day FROM conversations WHERE conversation_id = ?",
        [conversation_id],
    ).fetchone()
    if not conv:
        _fail(f"找不到会话 {conversation_id!r} (conversation not found)")
    msgs = con.execute(
        "SELECT seq, ts_local, role, agent_id, text, msg_type FROM messages WHERE conversation_id = ? ORDER BY seq",
        [conversation_id],
    ).fetchall()
    fs = _findings_query(con, None, None, None, conversation_id)
    by_seq: dict = {}
    for r in fs:
        d = dict(zip(FINDING_FIELDS, r))
        by_seq.setdefault(d["message_seq"], []).append(d)
    shop, queue, customer, agents, _, day = conv
    console.print(
        f"[bold]会话 {escape(conversation_id)}[/]  店铺 {escape(shop)}  {'售后' if queue == 'aftersales' else '售前'}  "
        f"顾客 {escape(customer or '-')}  客服 {escape(', '.join(agents or []))}  日期 {day}  问题 {len(fs)} 条",
        highlight=False,
    )
    for d in by_seq.get(None, []):
        console.print(Text(f"  ⚑ [{d['rule_id']} · {d['severity']}] {d['explanation']}", style=SEV_STYLE.get(d["severity"], "")))
    for seq, ts, role, agent_id, text, msg_type in msgs:
        who = ROLE_ZH.get(role, role) + (f"({agent_id})" if agent_id else "")
        line = Text(f"{seq:>3} {ts:%H:%M:%S} {who}: ", style="dim" if role in ("bot", "system") else "")
        body = Text(text if msg_type in ("text", "emoji", "other") else f"[{msg_type}] {text}")
        for d in by_seq.get(seq, []):
            if d["span_start"] is not None and d["span_end"] is not None:
                body.stylize("bold reverse red", d["span_start"], d["span_end"])
        line.append_text(body)
        console.print(line)
        for d in by_seq.get(seq, []):
            console.print(Text(f"      ⚑ [{d['rule_id']} · {d['severity']}] {d['explanation']}", style=SEV_STYLE.get(d["severity"], "")))


@app.command("eval")
def eval_cmd(
    cases: Optional[Path] = typer.Option(None, "--cases", help="标注用例文件夹 (default tests/rule_cases)"),
    kind: Optional[List[str]] = typer.Option(None, "--kind", help="只评估某类用例: positive | hard_negative | paraphrase"),
    sample: Optional[Path] = typer.Option(None, "--sample", help="生成样例文件夹 (with ground_truth.jsonl) instead of the cases"),
    show_errors: bool = typer.Option(False, "--errors", help="列出判错的用例"),
    no_models: bool = typer.Option(False, "--no-models", help="只用词库，不用分类模型 (lexicons only: the 'before')"),
    markdown: bool = typer.Option(False, "--markdown", help="输出 Markdown 表格 (for the README)"),
):
    """每条规则的准确率与召回率 (per-rule precision and recall on labeled data)."""
    import tempfile

    from .evaluate import evaluate_cases, evaluate_ground_truth

    with tempfile.TemporaryDirectory() as tmp:
        if sample:
            con = store.connect(Path(tmp) / "s.duckdb")
            ingest_paths_ = __import__("qc.ingest", fromlist=["ingest_paths"]).ingest_paths
            ingest_paths_(con, [sample / "chats.jsonl", sample / "orders.jsonl"])
            from .inspect import inspect as run_inspect

            run_inspect(con, all_=True, use_models=not no_models)
            scores, mistakes = evaluate_ground_truth(con, sample / "ground_truth.jsonl"), {}
        else:
            scores, mistakes = evaluate_cases(Path(tmp), cases, tuple(kind) if kind else None, use_models=not no_models)
    if markdown:
        print("| rule_id | cases | TP | FP | FN | precision | recall |\n|---|---:|---:|---:|---:|---:|---:|")
        for rid in sorted(scores):
            s = scores[rid]
            print(f"| {rid} | {s.cases or '-'} | {s.tp} | {s.fp} | {s.fn} | {s.precision:.3f} | {s.recall:.3f} |")
        return
    t = Table(title="规则评估 (rule evaluation)")
    for col in ("rule_id", "用例", "TP", "FP", "FN", "precision", "recall"):
        t.add_column(col, justify="right" if col != "rule_id" else "left")
    for rid in sorted(scores):
        s = scores[rid]
        t.add_row(rid, str(s.cases or "-"), str(s.tp), str(s.fp), str(s.fn), f"{s.precision:.3f}", f"{s.recall:.3f}")
    console.print(t)
    if show_errors:
        for rid, ms in sorted(mistakes.items()):
            for name, k, exp, got in ms:
                console.print(f"  {rid}  {name} ({k}): 期望 {exp} 实际 {got}", highlight=False)


@app.command("scorecard")
def scorecard_cmd(
    period: str = typer.Option(..., "--period", help="考核周期 YYYY-MM"),
    db: Optional[Path] = DbOpt,
    team: Optional[str] = typer.Option(None, "--team", help="只看某个店铺的团队 (shop_id)"),
    fmt: str = typer.Option("table", "--format", help="table | csv | jsonl | xlsx"),
    out: Optional[Path] = typer.Option(None, "--out", help="xlsx 输出文件 (default: scorecard-PERIOD.xlsx)"),
):
    """绩效考核表 (per-agent KPIs, quality score, points, pay and quadrant for a month)."""
    from .scorecard import COLUMNS, scorecard, write_xlsx

    if fmt not in ("table", "csv", "jsonl", "xlsx"):
        _fail(f"未知格式 {fmt!r}; 可选 table | csv | jsonl | xlsx")
    try:
        con = store.connect(db)
        rows = scorecard(con, period, team=team)
    except QCError as exc:
        _fail(str(exc))
    if fmt == "jsonl":
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
    elif fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow([k for k, _ in COLUMNS])
        for r in rows:
            w.writerow([safe_cell(r.get(k)) for k, _ in COLUMNS])
    elif fmt == "xlsx":
        path = out or Path(f"scorecard-{period}.xlsx")
        write_xlsx(rows, path, period)
        console.print(f"已写入 {path} ({len(rows)} 名客服)")
    else:
        t = Table(title=f"绩效考核 {period}" + (f" · {team}" if team else ""))
        for key in ("agent_id", "role_group", "conversations", "payment_conversion", "sales", "avg_first_response_s",
                    "quality_score", "total_points", "max_points", "pay", "quadrant"):
            t.add_column(dict(COLUMNS)[key], overflow="fold")
        for r in rows:
            t.add_row(*[("-" if r.get(k) is None else f"{r[k]:.1%}" if k == "payment_conversion" else str(r[k]))
                        for k in ("agent_id", "role_group", "conversations", "payment_conversion", "sales",
                                  "avg_first_response_s", "quality_score", "total_points", "max_points", "pay", "quadrant")])
        console.print(t)
        if not rows:
            console.print("该周期没有数据 (no inspected conversations in this period)")


@app.command("spotcheck")
def spotcheck_cmd(
    period: str = typer.Option(..., "--period", help="考核周期 YYYY-MM"),
    rate: float = typer.Option(0.05, "--rate", help="每位客服抽检比例 (share of each agent's conversations), 0–1"),
    seed: int = typer.Option(0, "--seed", help="随机种子 (same seed, same draw)"),
    by: str = typer.Option("qc spotcheck", "--by", help="抽检人 (who drew the sample)"),
    db: Optional[Path] = DbOpt,
):
    """抽检：按比例为每位客服抽取会话 (draw a spot-check sample; scorecard `over: sampled` scores only these)."""
    from .scorecard import draw_spot_checks

    con = store.connect(db)
    try:
        rows = draw_spot_checks(con, period, rate, seed=seed, drawn_by=by)
    except ValueError as exc:
        _fail(str(exc))
    t = Table(title=f"抽检 {period}: 新抽取 {len(rows)} 个会话 (rate {rate:.0%}, seed {seed})")
    t.add_column("客服 agent")
    t.add_column("会话 conversation")
    for agent, conv in rows:
        t.add_row(agent, conv)
    console.print(t)


@app.command("train")
def train_cmd(
    task: Optional[List[str]] = typer.Option(None, "--task", help="customer_intent | agent_act (default: both)"),
    backend: str = typer.Option("both", "--backend", help="sklearn | spacy | both (both: train both, keep the better)"),
    with_reviews: bool = typer.Option(False, "--with-reviews", help="把已复核的问题加入训练 (add reviewed findings as examples)"),
    db: Optional[Path] = DbOpt,
    version: Optional[str] = typer.Option(None, "--version", help="版本名 (default: date-datahash)"),
):
    """训练分类模型 (train the classifiers; writes models/<task>/<version>/ with its model card)."""
    from .classify import TASKS, ModelError, train

    if backend not in ("sklearn", "spacy", "both"):
        _fail(f"未知 backend {backend!r}")
    con = store.connect(db) if with_reviews else None
    for t in task or list(TASKS):
        if t not in TASKS:
            _fail(f"未知任务 {t!r}; 可选 {', '.join(TASKS)}")
        try:
            meta = train(t, backend=backend, con=con, with_reviews=with_reviews, version=version)
        except ModelError as exc:
            _fail(str(exc))
        comp = ", ".join(f"{b} macro-F1 {c['macro_f1']:.3f}" for b, c in meta["comparison"].items())
        console.print(f"{t}@{meta['version']}: 采用 {meta['backend']} ({comp}); "
                      f"训练 {meta['train_examples']} 条（复核 {meta['review_examples']} 条），测试 {meta['test_examples']} 条",
                      highlight=False)


def main():  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
