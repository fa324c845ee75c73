"""A finding must not depend on the order DuckDB's threads hand rows over in: the same chats
give the same findings — evidence, span and explanation included — on two cores or sixteen, in
one process or on a Dask worker, tonight and on a re-run.

Every rule runs twice on the same batch, once with the lexicon hits and the messages stored in
one physical order and once in the reverse order, on one thread (so "first seen" is the stored
order); the rule results must be equal row for row.
"""

import json

from qc import inspect as ins
from qc import store
from qc.config import load_config
from qc.ingest import ingest_paths

from .conftest import write_jsonl


def _chat(cid, lines):
    rows = []
    for i, (role, text) in enumerate(lines):
        r = {"conversation_id": cid, "ts": f"2026-11-05 14:{i:02d}:00", "role": role, "shop_id": "果乐生鲜",
             "customer_id": "tb_小林", "text": text}
        if role == "agent":
            r["agent_id"] = "果乐:糖糖"
        rows.append(r)
    return rows


CHATS = (
    # two complaint cues start at one position: 怎么还没 (complaint.txt) and 怎么还没发货
    _chat("gl-tie-1", [("customer", "怎么还没发货啊，都三天了"), ("agent", "亲，我这边帮您催一下仓库"),
                       ("agent", "今天下午一定发出")]),
    _chat("gl-tie-2", [("customer", "退款申请了，你们不给退款吗"), ("agent", "亲，这边核实一下订单"),
                       ("agent", "已经帮您提交了")]),
    # and rules that read other columns, so every rule's statement runs on both orders
    _chat("gl-tie-3", [("customer", "能便宜点吗"), ("agent", "亲，已经是活动价了"), ("customer", "那我再看看"),
                       ("agent", "爱买不买")]),
)


def _rule_results(con, order: str):
    con.execute(f"CREATE OR REPLACE TEMP TABLE mm AS SELECT * FROM mm ORDER BY row {order}, span_end {order}, lexicon {order}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE bmf AS SELECT * FROM bmf ORDER BY row {order}")
    models = ins.load_models(True)
    ins.run_rules(con, ins.RULES, load_config(), models, ins.matcher().versions)
    return con.execute("SELECT * FROM rule_results ORDER BY ALL").fetchall()


def test_rule_results_do_not_depend_on_the_order_rows_arrive_in(tmp_path):
    f = write_jsonl(tmp_path / "day.jsonl", [r for c in CHATS for r in c])
    con = store.connect(tmp_path / "qc.duckdb")
    ingest_paths(con, [f])
    con.execute("SET threads = 1")
    ins.select_scope(con, None, True)
    ins.build_batch(con)
    models, probs_of = ins.classify(con, True, [], ins.load_models(True), None)
    ins.match_text(con)
    ins.flag_messages(con, probs_of)
    # A shop's own forbidden.txt may hold two phrases that start alike (爱买不买 and a longer
    # 爱买不买吧 of the same severity): one more hit on 爱买不买's own message, as such a lexicon
    # would give it, so forbidden_phrase meets a tie too.
    n = con.execute("""INSERT INTO mm SELECT row, lexicon, '爱买不买吧', span_start, span_end + 1, '推诿', severity,
                                          'lexicons/forbidden.txt:999', FROM mm WHERE phrase = '爱买不买'""").fetchall()[0][0]
    assert n == 1
    forward = _rule_results(con, "ASC")
    backward = _rule_results(con, "DESC")
    con.close()
    assert forward == backward
    by_conv = {r[0]: r for r in forward if r[11] == "missing_apology"}
    # the longer cue, with its own lexicon line and span
    assert set(by_conv) >= {"gl-tie-1", "gl-tie-2"}
    ev = json.loads(by_conv["gl-tie-1"][7])
    assert (ev["complaint_cue"], by_conv["gl-tie-1"][5], by_conv["gl-tie-1"][6]) == ("怎么还没发货", 0, 6)
    assert ev["lexicon"].startswith("lexicons/complaint.txt:") and "「怎么还没发货」" in by_conv["gl-tie-1"][8]
    assert json.loads(by_conv["gl-tie-2"][7])["complaint_cue"] == "不给退款"
    (fp,) = [r for r in forward if r[11] == "forbidden_phrase"]
    assert (fp[4], fp[6]) == ("推诿", 5)       # subcategory and span end of the longer hit
    assert [h["phrase"] for h in json.loads(fp[7])] == ["爱买不买吧", "爱买不买"]
