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


def main():  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
