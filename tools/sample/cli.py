"""`qc sample`: registered through the `qc.plugins` entry point (pyproject.toml)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def sample(
        conversations: int = typer.Option(300, "--conversations", "-n", min=1, help="会话数 (number of conversations)"),
        seed: int = typer.Option(7, "--seed", help="随机种子 (deterministic output)"),
        out: Path = typer.Option(Path("data/generated"), "--out", help="输出文件夹"),
        start: str = typer.Option("2026-11-01", "--start", help="第一天 (first day, YYYY-MM-DD)"),
        days: int = typer.Option(7, "--days", min=1, help="天数"),
    ):
        """生成样例数据及其标注 (generate sample chats, orders and ground-truth findings)."""
        from qc.cli import _progress
        from qc.errors import QCError

        from .generator import generate

        try:
            date.fromisoformat(start)
        except ValueError:
            raise QCError(f"--start {start!r} 不是有效日期 (not a valid date); 请用 YYYY-MM-DD") from None
        bar = _progress()
        if bar:
            with bar:
                task = bar.add_task("生成 sample", total=conversations)
                counts = generate(out, conversations=conversations, seed=seed, start=start, days=days,
                                  progress=lambda n: bar.update(task, completed=n))
        else:
            counts = generate(out, conversations=conversations, seed=seed, start=start, days=days)
        print(json.dumps(counts, ensure_ascii=False))
