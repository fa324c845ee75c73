"""The Prefect flows run the same library functions and leave the same database."""

from pathlib import Path
import pytest
from prefect.testing.utilities import prefect_test_harness

from qc import store

from .conftest import write_jsonl


@pytest.fixture(scope="module", autouse=True)
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_ingest_and_inspect_flows(tmp_path, chat_rows):
    from pipelines.ingest_flow import ingest_flow
    from pipelines.inspect_flow import inspect_flow
    from pipelines.nightly import nightly_flow

    rows = chat_rows + [
        {"conversation_id": "dh-002", "ts": "2026-11-03 11:00:00", "role": "customer", "shop_id": "大焊五金旗舰店",
         "text": "焊机能便宜点吗"},
        {"conversation_id": "dh-002", "ts": "2026-11-03 11:00:50", "role": "agent", "agent_id": "大焊:小李",
         "shop_id": "大焊五金旗舰店", "text": "已经很低了，爱买不买"},
    ]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_jsonl(inbox / "day.jsonl", rows)
    db = str(tmp_path / "flow.duckdb")
    r1 = ingest_flow([str(inbox)], db=db)
    assert (r1["read"], r1["ingested"], r1["quarantined"]) == (6, 6, 0)
    r2 = inspect_flow(db=db)
    assert r2["conversations"] == 2
    assert r2["by_rule"]["forbidden_phrase"] == 1 and r2["by_rule"]["slow_first_response"] == 1
    con = store.connect(db)
    first = con.execute("SELECT finding_id, rule_id, message_seq FROM findings ORDER BY ALL").fetchall()
    con.close()
    # the nightly story twice: nothing new, nothing changes
    again = nightly_flow([str(inbox)], db=db, archive=str(tmp_path / "archive"), rejected=str(tmp_path / "rejected"),
                         outbox=str(tmp_path / "outbox"))
    assert again["ingest"]["ingested"] == 0 and again["inspect"]["conversations"] == 0
    con = store.connect(db)
    assert con.execute("SELECT finding_id, rule_id, message_seq FROM findings ORDER BY ALL").fetchall() == first
    con.close()
    # the monthly scorecard flow writes an Excel file that opens back
    from openpyxl import load_workbook

    from pipelines.scorecard_flow import scorecard_flow

    out = tmp_path / "sc.xlsx"
    r = scorecard_flow("2026-11", db=db, out=str(out))
    assert r["agents"] == 1
    ws = load_workbook(out).active
    assert ws.cell(2, 1).value == "大焊:小李"


def test_nightly_records_its_run_and_publishes_a_summary_artifact(tmp_path, chat_rows):
    import asyncio

    from prefect.client.orchestration import get_client

    from pipelines.nightly import nightly_flow

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_jsonl(inbox / "day.jsonl", chat_rows)
    (inbox / "notes.txt").write_text("不是导出文件", encoding="utf-8")
    db = str(tmp_path / "n.duckdb")
    r = nightly_flow([str(inbox)], db=db, archive=str(tmp_path / "archive"), rejected=str(tmp_path / "rejected"),
                     outbox=str(tmp_path / "outbox"))
    assert r["ingest"]["ingested"] == 4 and r["inspect"]["conversations"] == 1
    # processed files archived, the stray one rejected with its reason, the scorecard refreshed
    assert not list(inbox.iterdir())
    assert list((tmp_path / "archive").rglob("day.jsonl"))
    assert (tmp_path / "rejected" / "notes.txt.reason.txt").exists()
    assert list((tmp_path / "outbox").glob("scorecard-*.xlsx"))
    # and the leads' reports for the period: the team (all shops, and each shop) and each agent
    folder = Path(r["reports"]["folder"])
    names = {p.name for p in folder.iterdir()}
    assert {"团队报告-全部店铺.html", "团队报告-全部店铺.xlsx"} <= names and not any(n.startswith(".tmp") for n in names)
    con = store.connect(db)
    (flow_name, status, summary), = con.execute("SELECT flow, status, summary FROM runs").fetchall()
    con.close()
    import json

    s = json.loads(summary)
    assert flow_name == "qc-nightly" and status == "finished_with_warnings" and s["ingest"]["ingested"] == 4
    assert s["inspect"]["by_rule"] and any("notes.txt" in w for w in s["warnings"])

    async def artifact():
        async with get_client() as client:
            from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["qc-nightly-summary"])))

    arts = asyncio.run(artifact())
    assert any("质检夜间运行" in a.data and "| 新增 | 4 |" in a.data for a in arts), [a.data[:80] for a in arts]


def test_a_night_without_new_messages_for_a_shop_warns(tmp_path, chat_rows):
    from pipelines.nightly import nightly_flow

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_jsonl(inbox / "day.jsonl", chat_rows)
    db = str(tmp_path / "w.duckdb")
    kw = dict(db=db, archive=str(tmp_path / "archive"), rejected=str(tmp_path / "rejected"), outbox=str(tmp_path / "outbox"))
    first = nightly_flow([str(inbox)], **kw)
    assert not any("导出文件可能缺失" in w for w in first["warnings"])
    second = nightly_flow([str(inbox)], **kw)          # the exporter delivered nothing
    assert any("大焊五金旗舰店" in w and "导出文件可能缺失" in w for w in second["warnings"])
