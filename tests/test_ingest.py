"""Ingest: formats, encodings, header aliases, timezones, idempotency, late messages, quarantine."""

import csv
import io
import json
from datetime import datetime, timezone

import pytest

from qc import store
from qc.config import Config
from qc.ingest import ingest_paths

from .conftest import write_jsonl


def counts(rep):
    d = rep.as_dict()
    assert d["read"] == d["ingested"] + d["duplicate"] + d["quarantined"]
    return d["read"], d["ingested"], d["duplicate"], d["quarantined"]


def table_snapshot(con):
    return {
        t: con.execute(f"SELECT * EXCLUDE (ingest_run) FROM {t} ORDER BY ALL").fetchall()
        for t in ("messages", "orders", "quarantine")
    } | {"conversations": con.execute("SELECT * EXCLUDE (updated_run) FROM conversations ORDER BY ALL").fetchall()}


def test_jsonl_utf8(con, tmp_path, chat_rows):
    f = write_jsonl(tmp_path / "chats.jsonl", chat_rows)
    assert counts(ingest_paths(con, [f])) == (4, 4, 0, 0)
    rows = con.execute("SELECT seq, role, agent_id, text FROM messages ORDER BY seq").fetchall()
    assert rows[0] == (1, "customer", None, "你好，这款ZX7-250焊机能焊不锈钢吗？")
    assert rows[2][1:3] == ("agent", "大焊:小李")
    conv = con.execute("SELECT shop_id, queue, queue_source, n_messages, n_bot, agents, needs_inspection FROM conversations").fetchone()
    assert conv == ("大焊五金旗舰店", "presales", "inferred", 4, 1, ["大焊:小李"], True)


def test_json_array_and_bom(con, tmp_path, chat_rows):
    f = tmp_path / "chats.json"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps(chat_rows, ensure_ascii=False, indent=1).encode("utf-8"))
    rep = ingest_paths(con, [f])
    assert counts(rep) == (4, 4, 0, 0)
    assert rep.files[0].encoding == "utf-8-sig"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_csv_chinese_headers_in_every_encoding(con, tmp_path, encoding):
    # A 千牛-style export: Chinese headers, roles in Chinese, slash dates.
    text = (
        "会话ID,时间,发送人,客服,内容,店铺\n"
        "mj-01,2026/11/03 11:00:00,买家,,滚筒洗衣机漏水了，怎么办,美家电器专营店\n"
        "mj-01,2026/11/03 11:00:20,客服,美家:小周,非常抱歉给您带来不便，麻烦拍个视频,美家电器专营店\n"
        "mj-01,2026/11/03 11:00:25,店小蜜,,亲，售后问题可以点击“申请售后”哦,美家电器专营店\n"
    )
    f = tmp_path / f"export_{encoding}.csv"
    f.write_bytes(text.encode(encoding))
    rep = ingest_paths(con, [f])
    assert counts(rep) == (3, 3, 0, 0)
    assert rep.files[0].encoding in (encoding, "gb18030") or encoding == "gbk"
    rows = con.execute("SELECT role, agent_id, text FROM messages ORDER BY seq").fetchall()
    assert rows == [
        ("customer", None, "滚筒洗衣机漏水了，怎么办"),
        ("agent", "美家:小周", "非常抱歉给您带来不便，麻烦拍个视频"),
        ("bot", None, "亲，售后问题可以点击“申请售后”哦"),
    ]
    # queue inferred from the complaint cue 漏水
    assert con.execute("SELECT queue, queue_source FROM conversations").fetchone() == ("aftersales", "inferred")


def test_sub_account_as_sender_is_an_agent(con, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("会话编号,发送时间,发送人,消息内容\nx1,2026-11-03 09:00:00,顾客,在吗\nx1,2026-11-03 09:00:09,果乐:阿珍,在的亲\n", encoding="utf-8")
    assert counts(ingest_paths(con, [f])) == (2, 2, 0, 0)
    assert con.execute("SELECT role, agent_id FROM messages WHERE seq = 2").fetchone() == ("agent", "果乐:阿珍")


def test_timezones(con, tmp_path):
    rows = [
        # naive -> shop timezone (default Asia/Shanghai): 10:00 local = 02:00 UTC
        {"conversation_id": "t1", "ts": "2026-11-03 10:00:00", "role": "customer", "text": "在吗"},
        # explicit offset wins
        {"conversation_id": "t2", "ts": "2026-11-03T10:00:00+00:00", "role": "customer", "text": "在吗"},
        # epoch seconds and milliseconds
        {"conversation_id": "t3", "ts": 1793671200, "role": "customer", "text": "在吗"},
        {"conversation_id": "t4", "ts": "1793671200000", "role": "customer", "text": "在吗"},
        # a shop configured for Hong Kong time (same offset) and one for Tokyo (+9)
        {"conversation_id": "t5", "ts": "2026-11-03 10:00:00", "role": "customer", "shop_id": "jp", "text": "在吗"},
    ]
    f = write_jsonl(tmp_path / "tz.jsonl", rows)
    cfg = Config(shop_timezones={"jp": "Asia/Tokyo"})
    assert counts(ingest_paths(con, [f], config=cfg)) == (5, 5, 0, 0)
    got = dict(con.execute("SELECT conversation_id, ts FROM messages").fetchall())
    utc = timezone.utc
    assert got["t1"] == datetime(2026, 11, 3, 2, 0, tzinfo=utc)
    assert got["t2"] == datetime(2026, 11, 3, 10, 0, tzinfo=utc)
    assert got["t3"] == got["t4"] == datetime.fromtimestamp(1793671200, utc)
    assert got["t5"] == datetime(2026, 11, 3, 1, 0, tzinfo=utc)
    # local wall time and day are the shop's
    assert con.execute("SELECT ts_local::VARCHAR, day::VARCHAR FROM messages WHERE conversation_id='t2'").fetchone() == (
        "2026-11-03 18:00:00", "2026-11-03")


def test_idempotent_twice_same_database(con, tmp_path, chat_rows):
    f = write_jsonl(tmp_path / "chats.jsonl", chat_rows + [{"conversation_id": "bad", "role": "customer", "text": "无时间"}])
    first = counts(ingest_paths(con, [f]))
    snap = table_snapshot(con)
    second = counts(ingest_paths(con, [f]))
    assert first == (5, 4, 0, 1)
    assert second == (5, 0, 4, 1)
    assert table_snapshot(con) == snap


def test_overlapping_files_add_nothing_twice(con, tmp_path, chat_rows):
    a = write_jsonl(tmp_path / "a.jsonl", chat_rows[:3])
    b = write_jsonl(tmp_path / "b.jsonl", chat_rows[1:])  # overlaps rows 2-3
    assert counts(ingest_paths(con, [a])) == (3, 3, 0, 0)
    assert counts(ingest_paths(con, [b])) == (3, 1, 2, 0)
    assert con.execute("SELECT count(*) FROM messages").fetchone()[0] == 4


def test_identical_messages_in_same_second_are_both_kept(con, tmp_path):
    rows = [{"conversation_id": "q", "ts": "2026-11-03 10:00:00", "role": "customer", "text": "？"}] * 2
    f = write_jsonl(tmp_path / "q.jsonl", rows)
    assert counts(ingest_paths(con, [f])) == (2, 2, 0, 0)
    assert counts(ingest_paths(con, [f])) == (2, 0, 2, 0)


def test_late_messages_merge_and_mark_for_reinspection(con, tmp_path, chat_rows):
    first = [r for i, r in enumerate(chat_rows) if i != 1]  # the bot message arrives late
    ingest_paths(con, [write_jsonl(tmp_path / "day1.jsonl", first)])
    con.execute("UPDATE conversations SET needs_inspection = false")
    rep = ingest_paths(con, [write_jsonl(tmp_path / "late.jsonl", [chat_rows[1]])])
    assert counts(rep) == (1, 1, 0, 0)
    assert rep.as_dict()["late_conversations"] == 1
    seqs = con.execute("SELECT seq, role FROM messages ORDER BY seq").fetchall()
    assert seqs == [(1, "customer"), (2, "bot"), (3, "agent"), (4, "customer")]
    assert con.execute("SELECT needs_inspection, n_messages FROM conversations").fetchone() == (True, 4)


def test_source_seq_is_kept_and_orders_the_chat(con, tmp_path, chat_rows):
    rows = [dict(r, seq=10 + i) for i, r in enumerate(chat_rows)]
    ingest_paths(con, [write_jsonl(tmp_path / "s.jsonl", rows)])
    assert [r[0] for r in con.execute("SELECT seq FROM messages ORDER BY ts").fetchall()] == [10, 11, 12, 13]


def test_quarantine_names_file_line_field_reason(con, tmp_path, chat_rows):
    good = chat_rows[0]
    lines = [
        json.dumps(good, ensure_ascii=False),                                              # 1 good
        json.dumps({**good, "conversation_id": ""}, ensure_ascii=False),                 # 2 missing id
        json.dumps({**good, "ts": "昨天下午"}, ensure_ascii=False),                        # 3 bad time
        json.dumps({**good, "role": "路人"}, ensure_ascii=False),                          # 4 unknown role
        json.dumps({**good, "role": "agent"}, ensure_ascii=False),                        # 5 agent w/o agent_id
        '{"conversation_id": "dh-001", "ts": "2026-11-03 10:0',                           # 6 truncated
        json.dumps({**good, "seq": "第三"}, ensure_ascii=False),                          # 7 bad seq
        "",                                                                               # blank: not a row
        json.dumps({**good, "ts": "2026-11-03 10:09:00", "text": "还有货吗"}, ensure_ascii=False),  # 9 good
    ]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    raw += "坏字节".encode("utf-8")[:-1] + b'\xff{"x":1}\n'                                # 10 undecodable
    f = tmp_path / "mixed.jsonl"
    f.write_bytes(raw)
    rep = ingest_paths(con, [f])
    assert counts(rep) == (9, 2, 0, 7)
    q = con.execute("SELECT line, field, reason FROM quarantine ORDER BY line").fetchall()
    assert [(l, fld) for l, fld, _ in q] == [
        (2, "conversation_id"), (3, "ts"), (4, "role"), (5, "agent_id"), (6, "(整行)"), (7, "seq"), (10, "(整行)")]
    reasons = {l: r for l, _, r in q}
    assert "昨天下午" in reasons[3] and "路人" in reasons[4] and "JSON" in reasons[6] and "解码" in reasons[10]
    assert con.execute("SELECT DISTINCT file FROM quarantine").fetchone()[0] == str(f)


def test_quarantined_rows_keep_the_line_as_it_was_read(con, tmp_path, chat_rows):
    # a reviewer fixes the source from `raw`: a bad chat row, a bad order row and a seq
    # conflict each keep their own line (JSON Lines: trimmed; CSV: the row's fields)
    good = chat_rows[0]
    bad_chat = json.dumps({**good, "ts": "昨天下午"}, ensure_ascii=False)
    bad_order = json.dumps({"order_id": "o-9", "customer_id": "tb_王", "created_at": "2026-11-03 10:00:00",
                            "amount": "免费"}, ensure_ascii=False)
    first = json.dumps({**good, "seq": 1, "text": "在吗"}, ensure_ascii=False)
    clash = json.dumps({**good, "seq": 1, "ts": "2026-11-03 10:00:09", "text": "有人吗"}, ensure_ascii=False)
    f = tmp_path / "q.jsonl"
    f.write_text("\n".join([first, "  " + bad_chat, bad_order, clash]) + "\n", encoding="utf-8")
    ingest_paths(con, [f])
    q = con.execute("SELECT line, field, raw FROM quarantine ORDER BY line").fetchall()
    assert q == [(2, "ts", bad_chat), (3, "amount", bad_order), (4, "seq", clash)]
    c = tmp_path / "q.csv"
    c.write_text("conversation_id,ts,role,text\nc-1,昨天下午,customer,在吗\n", encoding="utf-8")
    ingest_paths(con, [c])
    raw = con.execute("SELECT raw FROM quarantine WHERE file = ?", [str(c)]).fetchone()[0]
    assert "昨天下午" in raw and "在吗" in raw


def test_csv_ragged_row_is_quarantined(con, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("conversation_id,ts,role,text\nc,2026-11-03 10:00:00,customer,在吗\nc,2026-11-03 10:00:05,customer\n", encoding="utf-8")
    assert counts(ingest_paths(con, [f])) == (2, 1, 0, 1)
    assert con.execute("SELECT line, reason FROM quarantine").fetchone()[0] == 3


def test_unreadable_file_is_an_error_not_a_crash(con, tmp_path, chat_rows):
    good = write_jsonl(tmp_path / "good.jsonl", chat_rows)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"conversation_id": "x"', encoding="utf-8")
    rep = ingest_paths(con, [tmp_path / "missing.jsonl", broken, good])
    errors = rep.as_dict()["errors"]
    assert len(errors) == 1 and "missing.jsonl" in errors[0]
    # the truncated array is read as far as it goes: its broken item is quarantined
    assert counts(rep) == (5, 4, 0, 1)  # the good file still went in
    (reason,) = con.execute("SELECT reason FROM quarantine WHERE file LIKE '%broken.json'").fetchall()[0]
    assert "truncated" in reason


def test_orders_ingest_update_and_duplicate(con, tmp_path):
    o = {"order_id": "T2026110300001", "customer_id": "tb_王先生", "shop_id": "大焊五金旗舰店",
         "created_at": "2026-11-03 10:05:00", "paid_at": None, "amount": "1,299.00"}
    f1 = write_jsonl(tmp_path / "orders1.jsonl", [o, {**o, "order_id": "T2", "amount": "abc"}])
    assert counts(ingest_paths(con, [f1])) == (2, 1, 0, 1)
    assert counts(ingest_paths(con, [f1])) == (2, 0, 1, 1)
    f2 = write_jsonl(tmp_path / "orders2.jsonl", [{**o, "paid_at": "2026-11-03 10:07:00"}])
    assert counts(ingest_paths(con, [f2])) == (1, 1, 0, 0)
    paid, amount = con.execute("SELECT paid_at, amount FROM orders").fetchone()
    assert paid == datetime(2026, 11, 3, 2, 7, tzinfo=timezone.utc) and float(amount) == 1299.0


def test_orders_csv_with_chinese_headers(con, tmp_path):
    f = tmp_path / "订单.csv"
    f.write_bytes("订单号,买家,店铺,下单时间,付款时间,实付金额\nA1,tb_1,果乐零食铺,2026-11-03 20:00:00,,88.5\n".encode("gbk"))
    assert counts(ingest_paths(con, [f])) == (1, 1, 0, 0)
    assert con.execute("SELECT order_id, paid_at, amount FROM orders").fetchone()[:2] == ("A1", None)


def test_folder_ingest_and_schema_version(con, tmp_path, chat_rows):
    d = tmp_path / "exports"
    d.mkdir()
    write_jsonl(d / "a.jsonl", chat_rows[:2])
    write_jsonl(d / "b.ndjson", chat_rows[2:])
    (d / "readme.txt").write_text("not data")
    assert counts(ingest_paths(con, [d])) == (4, 4, 0, 0)
    assert store.schema_version(con) == max(v for v, _, _ in store.MIGRATIONS)


def test_large_file_twice_in_one_connection_adds_nothing(con, tmp_path):
    # Regression: DuckDB 2.0.0 hid freshly inserted rows from equality filters in the same
    # connection for inserts larger than a row group; without a checkpoint this re-added all.
    rows = [{"conversation_id": f"c{i // 10}", "ts": 1793671200 + i, "role": "customer" if i % 2 == 0 else "agent",
             "agent_id": "大焊:小李", "text": f"第{i}条消息"} for i in range(150_000)]
    f = write_jsonl(tmp_path / "big.jsonl", rows)
    assert counts(ingest_paths(con, [f])) == (150_000, 150_000, 0, 0)
    assert counts(ingest_paths(con, [f])) == (150_000, 0, 150_000, 0)
    assert con.execute("SELECT count(*) FROM messages").fetchone()[0] == 150_000
    assert con.execute("SELECT count(*), sum(n_messages) FROM conversations").fetchone() == (15_000, 150_000)


def test_order_times_with_offset(con, tmp_path):
    f = write_jsonl(tmp_path / "o.jsonl", [{"order_id": "O1", "customer_id": "tb_a", "created_at": "2026-11-05T10:02:00+08:00",
                                            "paid_at": "2026-11-05T10:03:00+08:00", "amount": 128}])
    assert counts(ingest_paths(con, [f])) == (1, 1, 0, 0)
    assert con.execute("SELECT paid_at FROM orders").fetchone()[0] == datetime(2026, 11, 5, 2, 3, tzinfo=timezone.utc)


def test_lines_of_unicode_whitespace_are_blank_not_bad_rows(con, tmp_path, chat_rows):
    """An export padded with full-width spaces (U+3000) or a stray U+2028 line: blank lines,
    not quarantined rows."""
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in chat_rows[:2])
    f = tmp_path / "padded.jsonl"
    f.write_text("\u3000\u3000\n" + body + "\n \u2028 \n\x1c\n", encoding="utf-8")
    rep = ingest_paths(con, [f]).as_dict()
    assert (rep["read"], rep["ingested"], rep["quarantined"]) == (2, 2, 0)


def test_a_big_file_in_pieces_gives_the_same_database(tmp_path, monkeypatch):
    # A JSON Lines file above QC_INGEST_CHUNK_BYTES is read and ingested a piece at a time
    # (bounded memory). Pieces cut conversations in two, bad rows fall in any piece, and the
    # database must equal the one-piece ingest: same messages and seq, conversations, quarantine
    # rows with the file's own line numbers.
    from pathlib import Path

    lines = Path("data/sample/chats.jsonl").read_text(encoding="utf-8").splitlines()[:3000]
    # some rows without a seq (numbered by time, across pieces), a bad JSON row and a bad
    # field in the middle, a blank line
    for i in range(0, len(lines), 7):
        d = json.loads(lines[i])
        d.pop("seq", None)
        lines[i] = json.dumps(d, ensure_ascii=False)
    lines[1500] = '{"conversation_id": "坏行", "text": 没有引号}'
    lines[2200] = lines[2200].replace('"role": "customer"', '"role": "买家客服机器人"')
    lines.insert(900, "")
    f = tmp_path / "day.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")

    whole = store.connect(tmp_path / "whole.duckdb")
    rep_whole = ingest_paths(whole, [f]).as_dict()
    monkeypatch.setenv("QC_INGEST_CHUNK_BYTES", "40000")     # ~20 pieces
    from qc.ingest import chunked

    assert chunked(f)
    pieces = store.connect(tmp_path / "pieces.duckdb")
    rep_pieces = ingest_paths(pieces, [f]).as_dict()
    for k in ("read", "ingested", "duplicate", "quarantined", "late_conversations"):
        assert rep_pieces[k] == rep_whole[k], k
    assert rep_whole["quarantined"] >= 2
    assert table_snapshot(pieces) == table_snapshot(whole)
    q = pieces.execute("SELECT line FROM quarantine ORDER BY line").fetchall()
    assert (1502,) in q      # the bad JSON row, line 1501 of the list + the blank line inserted above it
    # and again: nothing twice
    assert counts(ingest_paths(pieces, [f]))[1] == 0
    assert table_snapshot(pieces) == table_snapshot(whole)
    whole.close()
    pieces.close()


def test_a_file_up_to_the_one_piece_size_is_one_piece_and_bigger_ones_are_cut(tmp_path, monkeypatch):
    # Pieces cost a commit, a checkpoint and the staging passes each: a file up to
    # INGEST_ONE_PIECE_BYTES (384 MB) is one piece even when it is bigger than a piece; a bigger
    # one is cut into pieces of INGEST_CHUNK_BYTES. (Sizes scaled down here.)
    from pathlib import Path

    from qc import ingest
    from qc.errors import QCError

    monkeypatch.delenv("QC_INGEST_CHUNK_BYTES", raising=False)
    monkeypatch.delenv("QC_INGEST_ONE_PIECE_BYTES", raising=False)
    monkeypatch.setattr(ingest, "INGEST_CHUNK_BYTES", 2_000)
    monkeypatch.setattr(ingest, "INGEST_ONE_PIECE_BYTES", 12_000)
    lines = Path("data/sample/chats.jsonl").read_text(encoding="utf-8").splitlines()
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    small.write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    big.write_text("\n".join(lines[:120]) + "\n", encoding="utf-8")
    assert 2_000 < small.stat().st_size <= 12_000 < big.stat().st_size
    assert not ingest.chunked(small)
    assert ingest.chunked(big)
    pieces = [staged.table.num_rows for staged, _ in ingest.read_chunks(big)]
    assert len(pieces) >= 6 and sum(pieces) == 120        # pieces of ~2,000 bytes, every line once
    # asking for small pieces (the tests above, a memory-tight machine) means pieces
    monkeypatch.setenv("QC_INGEST_CHUNK_BYTES", "2000")
    assert ingest.chunked(small)
    monkeypatch.setenv("QC_INGEST_ONE_PIECE_BYTES", "十二千")
    with pytest.raises(QCError, match="QC_INGEST_ONE_PIECE_BYTES"):
        ingest.chunked(small)


def test_emptying_pending_refresh_keeps_its_schema_and_is_transactional(tmp_path):
    # refresh_pending empties the list by DROP + CREATE from the table's own DDL (a DELETE of
    # 100k keyed rows cost ~1 s at commit): the key must survive, and a rollback restore the rows
    import duckdb

    con = store.connect(tmp_path / "e.duckdb")
    con.execute("INSERT INTO pending_refresh (conversation_id, ingest_run, late, renumber) VALUES ('会话-1', 1, false, false), ('会话-2', 1, true, true)")
    con.execute("BEGIN TRANSACTION")
    store.empty_table(con, "pending_refresh")
    assert con.execute("SELECT count(*) FROM pending_refresh").fetchone()[0] == 0
    con.execute("ROLLBACK")
    assert con.execute("SELECT count(*) FROM pending_refresh").fetchone()[0] == 2
    with store.transaction(con):
        store.empty_table(con, "pending_refresh")
    assert con.execute("SELECT count(*) FROM pending_refresh").fetchone()[0] == 0
    con.execute("INSERT INTO pending_refresh (conversation_id, ingest_run, late, renumber) VALUES ('会话-1', 2, false, false)")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO pending_refresh (conversation_id, ingest_run, late, renumber) VALUES ('会话-1', 3, false, false)")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO pending_refresh (conversation_id, ingest_run, late, renumber) VALUES ('会话-9', NULL, false, false)")


def _chat(cid, seq, ts, role, text, agent=None):
    d = {"conversation_id": cid, "seq": seq, "ts": ts, "role": role, "text": text}
    if agent:
        d["agent_id"] = agent
    return d


def test_a_seq_already_stored_is_a_conflict_in_a_later_file_and_in_a_later_piece(tmp_path, monkeypatch):
    # ingest reads only the stored messages of the conversations it touches (a night's file must
    # not scan the whole history): a seq taken by a stored message is still found — in a
    # conversation of an earlier night, and in one an earlier piece of the same file stored
    con = store.connect(tmp_path / "s.duckdb")
    day1 = [_chat("会话-老", 1, "2026-11-03 10:00:00", "customer", "在吗"),
            _chat("会话-老", 2, "2026-11-03 10:00:20", "agent", "亲，在的", "大焊:小李")]
    ingest_paths(con, [write_jsonl(tmp_path / "d1.jsonl", day1)])
    day2 = [_chat("会话-老", 2, "2026-11-04 09:00:00", "customer", "我的焊机坏了"),        # seq 2 is taken
            _chat("会话-老", 3, "2026-11-04 09:00:30", "agent", "非常抱歉，马上为您处理", "大焊:小李")]
    rep = ingest_paths(con, [write_jsonl(tmp_path / "d2.jsonl", day2)]).as_dict()
    assert rep["quarantined"] == 1 and rep["ingested"] == 1
    assert con.execute("SELECT field FROM quarantine WHERE line = 1").fetchone()[0] == "seq"

    # the same within one big file read in pieces: the conflicting row lies in a later piece
    rows = [_chat(f"会话-{i % 40}", i // 40 + 1, f"2026-11-05 10:{i // 40:02d}:{i % 60:02d}", "customer",
                  f"第{i}条：这个焊机能焊不锈钢吗？") for i in range(1200)]
    rows.append(_chat("会话-3", 1, "2026-11-05 23:59:00", "customer", "和第一条不一样的内容"))     # seq 1 of 会话-3 is taken
    f = write_jsonl(tmp_path / "big.jsonl", rows)
    monkeypatch.setenv("QC_INGEST_CHUNK_BYTES", "20000")
    from qc.ingest import chunked

    assert chunked(f)
    rep = ingest_paths(con, [f]).as_dict()
    assert rep["quarantined"] == 1 and rep["ingested"] == 1200
    assert con.execute("SELECT count(*) FROM quarantine WHERE line = 1201 AND field = 'seq'").fetchone()[0] == 1


def test_messages_without_a_conversation_row_get_one_at_the_next_ingest(tmp_path):
    # the search for such rows (databases from before pending_refresh) reads every message, so
    # it runs only when the counts disagree — which a missing row makes them do
    con = store.connect(tmp_path / "o.duckdb")
    day1 = [_chat("会话-甲", 1, "2026-11-03 10:00:00", "customer", "在吗"),
            _chat("会话-乙", 1, "2026-11-03 11:00:00", "customer", "发货了吗")]
    ingest_paths(con, [write_jsonl(tmp_path / "d1.jsonl", day1)])
    con.execute("DELETE FROM conversations WHERE conversation_id = '会话-乙'")
    ingest_paths(con, [write_jsonl(tmp_path / "d2.jsonl", [_chat("会话-丙", 1, "2026-11-04 10:00:00", "customer", "你好")])])
    assert [r[0] for r in con.execute("SELECT conversation_id FROM conversations ORDER BY 1").fetchall()] == \
        sorted(["会话-甲", "会话-乙", "会话-丙"])


def test_inspection_reads_the_scopes_time_span_and_all_of_it_after_an_interrupted_ingest(tmp_path):
    # the batch reads only messages within the scope's conversations' [started_at, ended_at];
    # while a killed ingest leaves conversations to rebuild, their rows may not span their
    # messages yet, so everything is read
    from qc.inspect import _batch_table

    con = store.connect(tmp_path / "b.duckdb")
    rows = [_chat("会话-一", 1, "2026-11-03 10:00:00", "customer", "在吗"),
            _chat("会话-一", 2, "2026-11-03 10:00:20", "agent", "亲，在的", "大焊:小李"),
            _chat("会话-二", 1, "2026-11-20 10:00:00", "customer", "发货了吗")]
    ingest_paths(con, [write_jsonl(tmp_path / "d.jsonl", rows)])
    con.execute("CREATE OR REPLACE TEMP TABLE scope_conv AS SELECT '会话-一' AS conversation_id")
    assert _batch_table(con) == 2
    # a message a killed ingest stored after the row was built (its rebuild still pending)
    con.execute("""INSERT INTO messages (msg_key, conversation_id, seq, source_seq, ts, ts_local, day, role, agent_id,
                   customer_id, shop_id, queue, text, msg_type, source_file, source_line, ingest_run, ingest_order)
                   SELECT 'k-late', '会话-一', 3, 3, TIMESTAMPTZ '2026-11-03 03:00:00+00', TIMESTAMP '2026-11-03 11:00:00',
                          DATE '2026-11-03', 'customer', NULL, NULL, 'default', NULL, '收到货坏了', 'text', 'x.jsonl', 9, 9, 99""")
    con.execute("INSERT INTO pending_refresh (conversation_id, ingest_run, late, renumber) VALUES ('会话-一', 9, true, false)")
    assert _batch_table(con) == 3


def test_pieces_read_ahead_keep_order_and_fail_at_the_piece_that_failed():
    # qc.ingest._read_ahead reads the next piece in a thread while the current one is stored:
    # same pieces, same order, and a read error arrives after the pieces before it were handed on
    from qc.ingest import _read_ahead

    def pieces():
        yield "第1段", False
        yield "第2段", False
        raise OSError("磁盘读取失败")

    got = []
    with pytest.raises(OSError, match="磁盘读取失败"):
        for item in _read_ahead(pieces()):
            got.append(item)
    assert got == [("第1段", False), ("第2段", False)]
    assert list(_read_ahead(iter([("a", False), ("b", True)]))) == [("a", False), ("b", True)]


def test_the_rebuild_reads_the_listed_span_which_includes_the_stored_messages(tmp_path):
    # pending_refresh keeps each conversation's span: its new messages' and its stored row's.
    # A late message three weeks on must still rebuild the row from all its messages.
    con = store.connect(tmp_path / "s.duckdb")
    ingest_paths(con, [write_jsonl(tmp_path / "d1.jsonl", [
        _chat("会话-一", 1, "2026-11-03 10:00:00", "customer", "收到的杯子裂了"),
        _chat("会话-一", 2, "2026-11-03 10:00:30", "agent", "非常抱歉，给您补发", "大焊:小李"),
        _chat("会话-二", 1, "2026-11-10 09:00:00", "customer", "在吗")])])
    ingest_paths(con, [write_jsonl(tmp_path / "d2.jsonl", [
        _chat("会话-一", 3, "2026-11-24 08:00:00", "customer", "补发的也裂了")])])
    assert con.execute("SELECT n_messages, started_at < TIMESTAMPTZ '2026-11-04 00:00:00+08', needs_inspection "
                       "FROM conversations WHERE conversation_id = '会话-一'").fetchone() == (3, True, True)
    assert con.execute("SELECT n_messages FROM conversations WHERE conversation_id = '会话-二'").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM pending_refresh").fetchone() == (0,)


def test_a_killed_runs_rows_survive_the_span_migration_and_are_rebuilt_whole(tmp_path):
    # a database of schema 10 with a conversation a killed ingest left to rebuild: migration 11
    # keeps the row with an unknown span, and the next ingest rebuilds it from every message
    import duckdb

    path = tmp_path / "v10.duckdb"
    con = store.connect(path)
    ingest_paths(con, [write_jsonl(tmp_path / "d1.jsonl", [
        _chat("会话-一", 1, "2026-11-03 10:00:00", "customer", "在吗"),
        _chat("会话-一", 2, "2026-11-03 10:00:20", "agent", "亲，在的", "大焊:小李")])])
    con.close()
    raw = duckdb.connect(str(path))
    raw.execute("DROP TABLE pending_refresh")
    raw.execute(next(sql for v, _, sql in store.MIGRATIONS if v == 6).split("CREATE TABLE pending_refresh")[1]
                .split(";")[0].join(["CREATE TABLE pending_refresh", ";"]))
    raw.execute("DELETE FROM schema_version WHERE version = 11")
    raw.execute("INSERT INTO pending_refresh VALUES ('会话-一', 1, false, true)")
    raw.execute("DELETE FROM conversations")
    raw.close()
    con = store.connect(path)
    assert store.schema_version(con) == store.LATEST
    assert con.execute("SELECT * FROM pending_refresh").fetchall() == [("会话-一", 1, False, True, None, None)]
    ingest_paths(con, [write_jsonl(tmp_path / "d2.jsonl", [
        _chat("会话-一", 3, "2026-11-20 10:00:00", "customer", "发货了吗")])])
    assert con.execute("SELECT n_messages FROM conversations WHERE conversation_id = '会话-一'").fetchone() == (3,)
    assert con.execute("SELECT count(*) FROM pending_refresh").fetchone() == (0,)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("last_newline", [True, False])
def test_the_fast_line_split_gives_the_database_of_the_careful_one(tmp_path, monkeypatch, chat_rows, ending, last_newline):
    """qc.ingest splits JSON Lines with numpy into an Arrow array over the file's own bytes;
    the careful path (Python's str.split, taken for other encodings and damaged bytes) is the
    reference. Windows line ends, a last line without one, blank and whitespace-padded lines,
    a BOM and bad rows: the same messages, the same quarantine rows with the same raw lines."""
    import qc.ingest as ing

    lines = [json.dumps(r, ensure_ascii=False) for r in chat_rows[:4]]
    bad = json.dumps({**chat_rows[0], "seq": 99, "ts": "昨天下午", "text": "发货了吗 ? "}, ensure_ascii=False)
    body = ending.join(["  " + lines[0], "", lines[1] + "  ", "\u3000", bad, "{\"conversation_id\": \"c-x\", 坏了",
                        lines[2] + " \t", lines[3]])
    data = "\ufeff" + body + (ending if last_newline else "")
    f = tmp_path / "day.jsonl"
    f.write_bytes(data.encode("utf-8"))

    def ingest_into(db):
        con = store.connect(db)
        rep = ingest_paths(con, [f]).as_dict()
        snap = table_snapshot(con)
        con.close()
        return (rep["read"], rep["ingested"], rep["quarantined"]), snap

    fast = ingest_into(tmp_path / "fast.duckdb")
    assert ing._split_lines_fast(data.encode("utf-8")) is not None      # the fast path was taken
    monkeypatch.setattr(ing, "_split_lines_fast", lambda data: None)
    careful = ingest_into(tmp_path / "careful.duckdb")
    assert fast[0] == careful[0] == (6, 4, 2)
    q = fast[1]["quarantine"]
    assert [(r[2], r[5]) for r in q] == [(5, bad), (6, "{\"conversation_id\": \"c-x\", 坏了")]
    # the quarantine rows name their file by its path: the same file in both
    assert fast[1] == careful[1]
