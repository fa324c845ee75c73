"""`qc flow …`: run the Prefect flows on demand from the `qc` command line.

Registered through the `qc.plugins` entry point (pyproject.toml), so the `qc` library
never imports Prefect: this module adds commands to the CLI and imports Prefect only
when one of them runs.
"""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    flow_app = typer.Typer(help="作为 Prefect flow 运行 (run the Prefect flows on demand; needs a Prefect API or starts a temporary one)",
                           no_args_is_help=True)

    @flow_app.command("inspect")
    def inspect_flow_cmd(
        db: Optional[str] = typer.Option(None, "--db", help="DuckDB 文件"),
        date: Optional[str] = typer.Option(None, "--date", help="YYYY-MM-DD"),
        all_: bool = typer.Option(False, "--all", help="质检全部会话"),
    ):
        """质检 flow (the `inspect` flow)."""
        import json

        from pipelines.inspect_flow import inspect_flow

        print(json.dumps(inspect_flow(db=db, date=date, all_=all_), ensure_ascii=False))

    @flow_app.command("nightly")
    def nightly_cmd(
        inbox: list[str] = typer.Argument(..., help="导出文件所在文件夹 (folders with the day's exports)"),
        db: Optional[str] = typer.Option(None, "--db", help="DuckDB 文件"),
    ):
        """每晚流程 (the `nightly` flow: ingest + inspect) once, now."""
        import json

        from pipelines.nightly import nightly_flow

        print(json.dumps(nightly_flow(inbox, db=db), ensure_ascii=False, default=str))

    app.add_typer(flow_app, name="flow")
