"""qc/arrowcols.py builds Arrow columns from buffers (pyarrow's conversions import pandas,
~0.25 s of every ingest and inspect process): the same arrays as pa.array, and the nightly
commands stay free of pandas."""

import subprocess
import sys

import numpy as np
import pyarrow as pa

from qc import arrowcols

TEXTS = ["收到的焊机外壳摔坏了", None, "", "亲，在的呢😊", "[订单x] 怎么还没发货", "a\nb"]


def test_strings_equal_pyarrow_with_nulls_unicode_and_empty():
    assert arrowcols.strings(TEXTS).equals(pa.array(TEXTS, pa.string()))
    assert arrowcols.strings(t for t in TEXTS if t).equals(pa.array([t for t in TEXTS if t], pa.string()))
    assert arrowcols.strings([]).equals(pa.array([], pa.string()))
    assert arrowcols.strings([None, None]).null_count == 2


def test_numbers_equal_pyarrow_for_lists_ranges_and_numpy():
    for values, typ in (([3, 1, 2], pa.int64()), (range(5), pa.int32()), ([], pa.int32()),
                        (np.array([0.25, 0.99, 1.0]), pa.float64()), (np.arange(10, dtype=np.int64)[::3], pa.int64())):
        assert arrowcols.numbers(values, typ).equals(pa.array(list(values), typ))
    # numpy of another width is cast, as pa.array(…, type) would
    assert arrowcols.numbers(np.array([7, 8], dtype=np.int64), pa.int32()).equals(pa.array([7, 8], pa.int32()))


def test_int64s_reads_chunked_and_sliced_columns():
    col = pa.chunked_array([pa.array([1, 2, 3], pa.int64()).slice(1), pa.array([10, 11], pa.int64())])
    assert arrowcols.int64s(col).tolist() == [2, 3, 10, 11]
    assert arrowcols.int64s(pa.chunked_array([], pa.int64())).tolist() == []


def test_ingest_inspect_and_scorecard_do_not_import_pandas(tmp_path):
    # The first load of a model builds its numpy cache from the joblib (scikit-learn, which
    # imports pandas); every later night reads the cache. Build it here, outside the child.
    from qc.classify import load_model

    load_model("customer_intent"), load_model("agent_act")
    chats = tmp_path / "chats.jsonl"
    chats.write_text(
        '{"conversation_id": "c1", "seq": 1, "ts": "2026-11-03 10:00:00", "role": "customer", "text": "收到就坏了"}\n'
        '{"conversation_id": "c1", "seq": 2, "ts": "2026-11-03 10:00:20", "role": "agent", "agent_id": "a1", "text": "您拍个照片发过来"}\n',
        encoding="utf-8")
    code = (
        "import sys\n"
        "from qc import store\nfrom qc.ingest import ingest_paths\nfrom qc.inspect import inspect\n"
        f"con = store.connect({str(tmp_path / 'x.duckdb')!r})\n"
        f"ingest_paths(con, [{str(chats)!r}])\n"
        "rep = inspect(con, all_=True)\n"
        "from qc.scorecard import compute_facts\n"
        "facts = compute_facts(con, '2026-11')\n"
        "print(len(facts), rep.findings, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[-1] == "False" and out[0] == "1" and int(out[1]) >= 1    # one agent, its findings


def test_inferred_types_like_pyarrow():
    for values in ([2, 5, 10, 100], [1.0, 1.5, 2.0], [2, 5.5]):
        assert arrowcols.inferred(values).equals(pa.array(values))


def test_joined_text_reads_chunked_sliced_and_large_columns():
    parts = ["收到的焊机外壳摔坏了\n", "亲，在的呢😊\n", "", "[订单x] 怎么还没发货\n"]
    col = pa.chunked_array([pa.array(["x"] + parts[:2], pa.string()).slice(1), pa.array(parts[2:], pa.string())])
    assert arrowcols.joined_text(col) == "".join(parts)
    assert arrowcols.joined_text(pa.array(parts, pa.large_string()).slice(1)) == "".join(parts[1:])
    assert arrowcols.joined_text(pa.chunked_array([], pa.string())) == ""
    import pytest

    with pytest.raises(ValueError):
        arrowcols.joined_text(pa.array(["a", None]))
