"""Property: whatever lines we are fed — random, corrupted, truncated — ingest never
crashes, the accounting always adds up, and every good row is stored exactly once."""

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qc import store
from qc.ingest import ingest_paths

ROLES = ["customer", "agent", "bot", "买家", "客服", "店小蜜"]
TEXT = st.text(alphabet=st.sampled_from(list("你好亲能便宜点吗？滚筒洗衣机坏了抱歉好的😀[微笑]\"',\\ \t") + list(string.ascii_letters)), max_size=20)


@st.composite
def good_row(draw, i):
    role = draw(st.sampled_from(ROLES))
    row = {
        "conversation_id": f"c{draw(st.integers(0, 5))}",
        "ts": f"2026-11-03 10:{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}",
        "role": role,
        "text": draw(TEXT) + f"#{i}",  # unique text: no two good rows are the same message
    }
    if role in ("agent", "客服"):
        row["agent_id"] = "大焊:小李"
    return row


def corrupt(draw, line: str) -> str:
    how = draw(st.sampled_from(["truncate", "garbage", "drop_field", "bad_time", "not_object"]))
    if how == "truncate":
        return line[: draw(st.integers(1, max(1, len(line) - 2)))]
    if how == "garbage":
        return draw(st.text(min_size=1, max_size=30)).replace("\n", " ").replace("\r", " ") or "x"
    obj = json.loads(line)
    if how == "drop_field":
        obj.pop(draw(st.sampled_from(["conversation_id", "ts", "role"])))
    elif how == "bad_time":
        obj["ts"] = draw(st.sampled_from(["", "昨天", "2026-13-45 99:00:00", "abc"]))
    else:
        return json.dumps([obj], ensure_ascii=False)
    return json.dumps(obj, ensure_ascii=False)


@st.composite
def files(draw):
    n = draw(st.integers(1, 25))
    lines, good = [], 0
    for i in range(n):
        line = json.dumps(draw(good_row(i)), ensure_ascii=False)
        if draw(st.booleans()):
            line = corrupt(draw, line)
        else:
            good += 1
        lines.append(line)
    return lines, good


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=files())
def test_never_crashes_never_loses_a_good_row(tmp_path_factory, data):
    lines, _ = data
    d = tmp_path_factory.mktemp("prop")
    f = d / "in.jsonl"
    body = "\n".join(lines).encode("utf-8")
    f.write_bytes(body)
    con = store.connect(d / "p.duckdb")
    rep = ingest_paths(con, [f]).as_dict()
    assert rep["errors"] == []
    assert rep["read"] == rep["ingested"] + rep["duplicate"] + rep["quarantined"]
    assert rep["read"] == sum(1 for l in lines if l.strip())
    # Every line that is a fully valid row is stored, exactly once, with its text intact.
    stored = {r[0] for r in con.execute("SELECT text FROM messages").fetchall()}
    for l in lines:
        try:
            obj = json.loads(l)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("conversation_id") and obj.get("role") in ROLES \
                and str(obj.get("ts", "")).startswith("2026-11-03 10:") and len(str(obj["ts"])) == 19:
            assert obj["text"] in stored
    assert con.execute("SELECT count(*) FROM messages").fetchone()[0] == rep["ingested"]
    # and a second run adds nothing
    rep2 = ingest_paths(con, [f]).as_dict()
    assert rep2["ingested"] == 0 and rep2["read"] == rep["read"]
    con.close()


@settings(max_examples=40, deadline=None)
@given(blob=st.binary(max_size=300))
def test_random_bytes_never_crash(tmp_path_factory, blob):
    d = tmp_path_factory.mktemp("bytes")
    f = d / "x.jsonl"
    f.write_bytes(blob)
    con = store.connect(d / "b.duckdb")
    rep = ingest_paths(con, [f]).as_dict()
    assert rep["read"] == rep["ingested"] + rep["duplicate"] + rep["quarantined"]
    con.close()
