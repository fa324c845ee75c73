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
        task_runner: str = typer.Option("local", "--task-runner", help="local | dask (partitions on a Dask cluster)"),
        dask_address: Optional[str] = typer.Option(None, "--dask-address", help="tcp://host:8786 (default: a LocalCluster)"),
        workers: int = typer.Option(2, "--workers", min=1, help="LocalCluster 进程数 (worker processes)"),
        tasks: Optional[int] = typer.Option(None, "--tasks", min=1, help="分区任务数 (default: 2 per worker)"),
    ):
        """质检 flow (the `inspect` flow); `--task-runner dask` runs it in partitions on Dask."""
        import json

        from qc.errors import QCError

        if task_runner == "local":
            from pipelines.inspect_flow import inspect_flow

            print(json.dumps(inspect_flow(db=db, date=date, all_=all_), ensure_ascii=False))
            return
        if task_runner != "dask":
            raise QCError(f"--task-runner {task_runner!r}: local 或 dask (one of local, dask)")
        from pipelines.inspect_flow import dask_runner, inspect_partitioned_flow

        n = tasks or 2 * (workers if not dask_address else 4)
        flow_ = inspect_partitioned_flow.with_options(task_runner=dask_runner(dask_address, workers))
        print(json.dumps(flow_(db=db, date=date, all_=all_, tasks=n), ensure_ascii=False, default=str))

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

    @app.command("serve")
    def serve_cmd(
        db: Optional[str] = typer.Option(None, "--db", help="DuckDB 文件 (default: $QC_DB or ./data/qc.duckdb)"),
        port: int = typer.Option(4200, "--port", help="本地 Prefect 服务端口 (when no PREFECT_API_URL is set)"),
    ):
        """按计划运行 (run qc-nightly, qc-shift and qc-monthly on their schedules from config/qc.yaml; Ctrl-C stops)."""
        import os
        import subprocess
        import sys
        import time
        from pathlib import Path

        import httpx

        server = None
        if not os.environ.get("PREFECT_API_URL"):
            # No Prefect server configured: start a local one in the background for as long as we run.
            url = f"http://127.0.0.1:{port}"
            log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"qc-prefect-server-{port}.log", "ab")
            exe = Path(sys.executable).with_name("prefect")
            server = subprocess.Popen([str(exe), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                      stdout=log, stderr=log)
            for _ in range(120):
                try:
                    if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None:
                    raise SystemExit(f"Prefect 服务未能启动 (the local Prefect server exited; see {log.name})")
                time.sleep(0.5)
            else:
                server.terminate()
                raise SystemExit(f"Prefect 服务 60 秒内未就绪 (the local Prefect server did not come up; see {log.name})")
            os.environ["PREFECT_API_URL"] = f"{url}/api"
        ui = os.environ["PREFECT_API_URL"].removesuffix("/api")
        from prefect import serve

        from pipelines.nightly import deployments

        deps = deployments(db)
        print(f"按计划运行中 (serving {', '.join(d.name for d in deps)}); 查看 (watch): {ui}  — Ctrl-C 停止", flush=True)
        try:
            serve(*deps, print_starting_message=False)
        except KeyboardInterrupt:
            pass
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    server.kill()
            print("已停止 (stopped)", flush=True)
