"""The inspection in partitions on a real Dask LocalCluster (prefect-dask) gives the findings
of the single-process run, and the merge by one writer keeps what changed meanwhile."""

import pytest
from prefect.testing.utilities import prefect_test_harness

from qc import store
from qc.ingest import ingest_paths
from qc.inspect import inspect
from qc.partitioned import inspect_partitions, merge_results, plan, stage_partitions
from qc.paths import SAMPLE_DIR

from .conftest import write_jsonl

FINDING = "SELECT * EXCLUDE (run_id, created_at) FROM findings ORDER BY finding_id"
NEAR = "SELECT * EXCLUDE (run_id) FROM model_near_misses ORDER BY ALL"


def sample(db):
    con = store.connect(db)
    ingest_paths(con, [SAMPLE_DIR / "chats.jsonl", SAMPLE_DIR / "orders.jsonl"])
    return con


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    con = sample(tmp_path_factory.mktemp("single") / "s.duckdb")
    inspect(con)
    rows = con.execute(FINDING).fetchall()
    near = con.execute(NEAR).fetchall()
    con.close()
    assert len(rows) > 100 and near
    return rows, near


def test_partitioned_flow_on_a_local_dask_cluster_matches_single_process(tmp_path, single):
    from pipelines.inspect_flow import dask_runner, inspect_partitioned_flow

    db = tmp_path / "d.duckdb"
    sample(db).close()
    with prefect_test_harness(server_startup_timeout=120):
        flow_ = inspect_partitioned_flow.with_options(task_runner=dask_runner(workers=2))
        r = flow_(db=str(db), tasks=4)
    assert len(r["tasks"]) == 4 and sum(t["partitions"] for t in r["tasks"]) >= 20
    con = store.connect(db)
    try:
        assert con.execute(FINDING).fetchall() == single[0]
        assert con.execute(NEAR).fetchall() == single[1]
        assert con.execute("SELECT count(*) FROM conversations WHERE needs_inspection").fetchone()[0] == 0
        assert con.execute("SELECT status, scope FROM inspect_runs").fetchall() == [("finished", "pending (partitioned: 4 tasks)")]
    finally:
        con.close()


def test_merge_keeps_conversations_that_changed_while_workers_ran(tmp_path, single):
    db = tmp_path / "m.duckdb"
    con = sample(db)
    parts = stage_partitions(con, tmp_path / "stage")
    con.close()
    results = [inspect_partitions(tmp_path / "stage", g, tmp_path / "stage" / "results" / f"p{i}.parquet")
               for i, g in enumerate(plan(parts, 2))]
    # a late message arrives for one conversation between staging and merging
    con = store.connect(db)
    late = [{"conversation_id": "GL-20261101-000018", "ts": "2026-11-01 23:59:00", "role": "customer",
             "customer_id": "x", "shop_id": "果乐零食铺", "text": "还在吗？"}]
    ingest_paths(con, [write_jsonl(tmp_path / "late.jsonl", late)])
    merge_results(con, tmp_path / "stage", results)
    pending = [r[0] for r in con.execute("SELECT conversation_id FROM conversations WHERE needs_inspection").fetchall()]
    con.close()
    assert pending == ["GL-20261101-000018"]          # the next run takes it


def test_plan_balances_messages():
    parts = [{"shop_id": "s", "day": f"2026-11-{d:02d}", "messages": m} for d, m in enumerate([90, 50, 40, 30, 20, 10], 1)]
    groups = plan(parts, 3)
    sizes = sorted(sum(next(p["messages"] for p in parts if p["day"] == day) for _, day in g) for g in groups)
    assert sizes == [70, 80, 90] and sum(len(g) for g in groups) == 6
    assert len(plan(parts, 10)) == 6 and plan([], 4) == []


@pytest.mark.parametrize("seen_max", [300_000, 40])
def test_inspect_in_bounded_batches_gives_the_same_findings(tmp_path, single, monkeypatch, seen_max):
    """Bounded memory: a scope above QC_INSPECT_BATCH_MESSAGES is inspected a batch of days at
    a time; the findings and near misses are those of the one-batch run. A text an earlier
    batch classified is not classified again (while the run's memory of them has room: with
    room for 40 texts, a batch too big to keep is classified whole and still gives the same)."""
    import qc.classify as C
    import qc.inspect as I

    monkeypatch.setattr(I, "BATCH_MESSAGES", 400)
    monkeypatch.setattr(I, "SEEN_MAX_TEXTS", seen_max)
    classified = []
    predict = C.Model.predict_proba
    monkeypatch.setattr(C.Model, "predict_proba", lambda self, texts: classified.extend(texts) or predict(self, texts))
    con = sample(tmp_path / "b.duckdb")
    try:
        rep = inspect(con)
        assert any("in 7 batches" in n for n in rep.notes)          # one per day: each day holds > 400
        assert con.execute(FINDING).fetchall() == single[0]
        assert con.execute(NEAR).fetchall() == single[1]
        assert rep.findings == len(single[0]) and rep.messages == 3241
        assert con.execute("SELECT count(*) FROM conversations WHERE needs_inspection").fetchone()[0] == 0
        per_batch = con.execute("""SELECT count(DISTINCT (role, text, day)) FROM messages
                                   WHERE msg_type = 'text' AND role IN ('customer', 'agent')""").fetchone()[0]
        # the sample's agents repeat their quick replies from day to day
        assert (len(classified) < 0.8 * per_batch) if seen_max > 1000 else (len(classified) == per_batch)
        assert classified.count("在的亲，您请说") == (1 if seen_max > 1000 else 7)      # in every day
    finally:
        con.close()


def test_inspection_caps_duckdb_memory_on_a_file_and_puts_the_store_cap_back(tmp_path, monkeypatch):
    """Bounded memory: while inspecting a database file DuckDB may cache at most
    INSPECT_MEMORY_LIMIT of it; afterwards the connection has the store's cap again (after
    ingest too: the nightly flow inspects on the connection it ingested with). A Dask
    worker's in-memory database keeps its cap (its tables cannot be evicted); a mistyped
    QC_INSPECT_MEMORY_LIMIT names itself."""
    import qc.inspect as I
    from qc.errors import QCError

    monkeypatch.setenv("QC_MEMORY_LIMIT", "2GB")      # a store cap other than inspect's, to tell them apart
    seen = []
    build = I.build_batch
    monkeypatch.setattr(I, "build_batch", lambda con: seen.append(
        con.execute("SELECT current_setting('memory_limit')").fetchone()[0]) or build(con))
    rows = [{"conversation_id": "c1", "ts": "2026-11-03 10:00:00", "role": "customer", "customer_id": "u", "text": "在吗"},
            {"conversation_id": "c1", "ts": "2026-11-03 10:00:30", "role": "agent", "agent_id": "a", "text": "在的亲"}]
    for db in (tmp_path / "f.duckdb", ":memory:"):
        con = store.connect(db)
        cap = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        ingest_paths(con, [write_jsonl(tmp_path / "c.jsonl", rows)])          # ingest caps it lower, then puts it back
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == cap
        inspect(con, all_=True)
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == cap
        con.close()
    assert seen[0] != seen[1] and seen[0] in ("1.2 GiB", "1.3 GB", "1.2GiB") and seen[1] == cap
    monkeypatch.setattr(I, "INSPECT_MEMORY_LIMIT", "lots")
    con = store.connect(tmp_path / "f.duckdb")
    with pytest.raises(QCError, match="QC_INSPECT_MEMORY_LIMIT='lots'"):
        inspect(con, all_=True)
    con.close()
