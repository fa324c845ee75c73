"""Fuzz suite over ingest and the text pipeline (hypothesis; CI replays a fixed sequence:
HYPOTHESIS_PROFILE=ci). Each target: nothing crashes, the accounting adds up (read =
ingested + duplicate + quarantined), nothing good is lost, every bad row is quarantined
with a reason. tests/test_ingest_property.py covers random JSON lines and random bytes."""

import csv
import io
import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qc import store
from qc.cli import app
from qc.ingest import ingest_paths
from qc.inspect import inspect

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CJK = st.lists(st.sampled_from(list("你好亲能便宜点吗？收到的焊机坏了抱歉好的，。！「」～ ") + ["😀", "[微笑]", "\u3000"]), min_size=1, max_size=25).map("".join)
HOSTILE = st.text(alphabet=st.sampled_from(list("你好[/]bold\x1b[2J\x07\x00\r\t=+-@\"',;\\") + ["\u202e", "\ud7ff", "\x85"]), max_size=30)


def ingest_file(tmp, name, data: bytes):
    f = tmp / name
    f.write_bytes(data)
    con = store.connect(":memory:")
    rep = ingest_paths(con, [f]).as_dict()
    assert rep["read"] == rep["ingested"] + rep["duplicate"] + rep["quarantined"], rep
    return con, rep


def row(i, text, **kw):
    r = {"conversation_id": f"c{i % 4}", "ts": f"2026-11-03 10:{i // 60 % 60:02d}:{i % 60:02d}", "role": "customer",
         "text": f"{text}#{i}"}
    r.update(kw)
    return r


@FUZZ
@given(texts=st.lists(CJK, min_size=1, max_size=12), encs=st.lists(st.sampled_from(["utf-8", "gbk", "gb18030"]), min_size=12, max_size=12))
def test_mixed_encodings_per_line(tmp_path_factory, texts, encs):
    lines = []
    for i, t in enumerate(texts):
        line = json.dumps(row(i, t), ensure_ascii=False)
        try:
            lines.append(line.encode(encs[i]))
        except UnicodeEncodeError:               # emoji have no GBK form: that line stays UTF-8
            lines.append(line.encode("utf-8"))
    data = b"\n".join(lines) + b"\n"
    try:
        data.decode("utf-8")
        # Known limit: a GBK line whose bytes also happen to be valid UTF-8 ([微笑] = CE A2 D0
        # A6 = "[΢Ц]") in a file that is valid UTF-8 throughout is read as UTF-8; a file-wide
        # GB18030 check would cost the fast path a decode of every file. Real GBK lines of
        # more than a few characters are never valid UTF-8.
        assume(all(e == "utf-8" or t.encode(e, "ignore") == t.encode("utf-8") for t, e in zip(texts, encs)))
    except UnicodeDecodeError:
        pass
    con, rep = ingest_file(tmp_path_factory.mktemp("enc"), "m.jsonl", data)
    assert rep["ingested"] == len(texts), rep
    stored = {r[0] for r in con.execute("SELECT text FROM messages").fetchall()}
    assert stored == {f"{t}#{i}" for i, t in enumerate(texts)}


@FUZZ
@given(texts=st.lists(st.text(alphabet=st.sampled_from(list('你好,"\n\r 亲；') + ["\t"]), min_size=1, max_size=15), min_size=1, max_size=10),
       broken=st.sets(st.integers(0, 9), max_size=3))
def test_csv_quoting_and_stray_quotes(tmp_path_factory, texts, broken):
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["conversation_id", "ts", "role", "text"])
    rows = []
    for i, t in enumerate(texts):
        r = row(i, t.replace("\r", ""))
        rows.append(r)
        if i in broken:
            buf.write(f'{r["conversation_id"]},{r["ts"]},customer,"未闭合的引号{i}\n')
        else:
            w.writerow([r["conversation_id"], r["ts"], r["role"], r["text"]])
    con, rep = ingest_file(tmp_path_factory.mktemp("csv"), "c.csv", buf.getvalue().encode("utf-8"))
    stored = {r[0] for r in con.execute("SELECT text FROM messages").fetchall()}
    n_broken = len([i for i in broken if i < len(texts)])
    # a stray quote may swallow lines up to the next quote, but never more than itself and
    # the lines up to the next record that closes it; every later clean row is kept
    assert rep["quarantined"] >= min(1, n_broken)
    last_broken = max([i for i in broken if i < len(texts)], default=-1)
    for i, r in enumerate(rows):
        if i > last_broken + 1 or (last_broken == -1):
            assert r["text"] in stored, (i, r["text"], rep)


@FUZZ
@given(size=st.sampled_from([0, 1, 5000, 100_000]), field=st.sampled_from(["text", "agent_id", "customer_id", "shop_id"]))
def test_huge_and_empty_fields(tmp_path_factory, size, field):
    r = row(1, "在吗")
    if field == "agent_id":
        r.update(role="agent")
    r[field] = "好" * size
    con, rep = ingest_file(tmp_path_factory.mktemp("big"), "b.jsonl", json.dumps(r, ensure_ascii=False).encode() + b"\n")
    if field == "agent_id" and size == 0:
        assert rep["quarantined"] == 1                     # an agent message needs its agent
    else:
        assert rep["ingested"] == 1, rep


SEQS = [0, 1, 2**31, 2**53 - 1, 2**53, 2**63, -1, 3.5, 3.0, "7", "abc", "", None, 1e3, True]
TSS = ["2026-11-03 10:00:00", "2026-11-03T10:00:00+08:00", "1762135200", "1762135200000", "0", "1999-12-31 23:59:59",
       "2101-01-01 00:00:00", "2026-02-30 10:00:00", "2026-11-03 24:00:00", "2026/11/03 10:00", "昨天", "", None, 1762135200]


@FUZZ
@given(seq=st.sampled_from(SEQS), ts=st.sampled_from(TSS))
def test_seq_and_timestamp_edges(tmp_path_factory, seq, ts):
    r = {"conversation_id": "e1", "role": "customer", "text": "边界值"}
    if seq is not None:
        r["seq"] = seq
    if ts is not None:
        r["ts"] = ts
    con, rep = ingest_file(tmp_path_factory.mktemp("edge"), "e.jsonl", json.dumps(r).encode() + b"\n")
    if rep["quarantined"]:
        (field, reason), = con.execute("SELECT field, reason FROM quarantine").fetchall()
        assert field in ("seq", "ts", "(整行)") and reason
    else:
        s, = con.execute("SELECT seq FROM messages").fetchall()[0]
        assert s >= 0
    inspect(con, use_models=False)


@FUZZ
@given(block=st.lists(CJK, min_size=2, max_size=6, unique=True), copies=st.integers(2, 3))   # one line twice in a row is a real repeat
def test_duplicated_blocks_are_duplicates(tmp_path_factory, block, copies):
    lines = [json.dumps(row(i, t, role="agent", agent_id="大焊:小李"), ensure_ascii=False) for i, t in enumerate(block)]
    data = ("\n".join(lines * copies) + "\n").encode()
    con, rep = ingest_file(tmp_path_factory.mktemp("dup"), "d.jsonl", data)
    assert rep["ingested"] == len(block) and rep["duplicate"] == len(block) * (copies - 1)
    inspect(con, use_models=False)
    assert con.execute("SELECT count(*) FROM findings WHERE rule_id = 'repeated_quick_reply'").fetchall()[0][0] == 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=HOSTILE, agent=HOSTILE)
def test_hostile_markup_and_escapes_never_reach_the_terminal(tmp_path_factory, text, agent):
    tmp = tmp_path_factory.mktemp("hostile")
    rows = [row(0, "能便宜点吗"), row(1, text or "x", role="agent", agent_id=agent.strip() or "a"), row(2, text or "y")]
    rows = [dict(r, conversation_id="h1") for r in rows]
    f = tmp / "h.jsonl"
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8", errors="surrogatepass")
    db = tmp / "h.duckdb"
    runner = CliRunner()
    for args in (["ingest", str(f)], ["inspect", "--no-models"], ["findings"], ["explain", "h1"], ["quarantine"]):
        r = runner.invoke(app, args + ["--db", str(db)])
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
        assert "\x1b" not in r.output and "\x07" not in r.output and "\u202e" not in r.output, args
