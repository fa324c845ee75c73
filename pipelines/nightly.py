"""Flow `nightly`: the story of the night — ingest yesterday's exports, inspect what is new.

Serve it with a schedule (a long-running process next to a Prefect server):

    python -m pipelines.nightly --serve --inbox /data/exports --db /data/qc.duckdb

Runs at 02:30 Asia/Shanghai by default (after the platforms' daily exports land).
"""

from __future__ import annotations

import argparse

from prefect import flow

from pipelines.ingest_flow import ingest_flow
from pipelines.inspect_flow import inspect_flow


@flow(name="nightly")
def nightly_flow(inbox: list[str], db: str | None = None) -> dict:
    ingested = ingest_flow(inbox, db=db)
    inspected = inspect_flow(db=db)
    return {"ingest": ingested, "inspect": inspected}


def main(argv=None):  # pragma: no cover - a long-running server process
    ap = argparse.ArgumentParser(description="每晚质检 nightly ingest + inspect")
    ap.add_argument("--inbox", nargs="+", required=True, help="folders with the day's exports")
    ap.add_argument("--db", default=None)
    ap.add_argument("--serve", action="store_true", help="serve on a cron schedule instead of running once")
    ap.add_argument("--cron", default="30 2 * * *")
    args = ap.parse_args(argv)
    if args.serve:
        from prefect.schedules import Cron

        nightly_flow.serve(
            name="nightly-qc",
            schedules=[Cron(args.cron, timezone="Asia/Shanghai")],
            parameters={"inbox": args.inbox, "db": args.db},
        )
    else:
        print(nightly_flow(args.inbox, db=args.db))


if __name__ == "__main__":  # pragma: no cover
    main()
