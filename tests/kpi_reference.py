"""An independent pandas implementation of the KPI definitions in README ("Scorecard"),
written without looking at qc/sql/kpis.sql, to cross-check it."""

from __future__ import annotations

import pandas as pd


def reference_kpis(con, start: str, end: str, attr_window_s: float = 86400, slow_limit_s: float = 60,
                   tz: str = "Asia/Shanghai") -> dict[str, dict]:
    conv = con.execute("SELECT * FROM conversations").df()
    conv = conv[(pd.to_datetime(conv["day"]) >= pd.Timestamp(start)) & (pd.to_datetime(conv["day"]) < pd.Timestamp(end))]
    msgs = con.execute("SELECT conversation_id, seq, role, agent_id, epoch(ts) AS t FROM messages").df()
    msgs = msgs.merge(conv[["conversation_id", "queue", "customer_id", "shop_id"]], on="conversation_id")
    orders = con.execute(f"SELECT *, timezone('{tz}', created_at)::DATE AS d, epoch(created_at) AS ct FROM orders").df()
    orders = orders[(pd.to_datetime(orders["d"]) >= pd.Timestamp(start)) & (pd.to_datetime(orders["d"]) < pd.Timestamp(end))]
    all_agent_msgs = con.execute(
        "SELECT m.agent_id, epoch(m.ts) AS t, c.customer_id, c.shop_id FROM messages m "
        "JOIN conversations c USING (conversation_id) WHERE m.role = 'agent'").df()

    out: dict[str, dict] = {}
    agents = sorted(msgs.loc[msgs.role == "agent", "agent_id"].unique())
    # order attribution
    def attribute(o):
        if isinstance(o.agent_id, str) and o.agent_id:
            return o.agent_id
        cand = all_agent_msgs[(all_agent_msgs.customer_id == o.customer_id) & (all_agent_msgs.shop_id == o.shop_id)
                              & (all_agent_msgs.t <= o.ct) & (o.ct - all_agent_msgs.t <= attr_window_s)]
        return None if cand.empty else cand.sort_values("t").iloc[-1].agent_id
    orders = orders.assign(attr=[attribute(o) for o in orders.itertuples()])

    # rounds: walk each conversation in order
    rounds = []  # (agent, gap, is_first)
    for cid, g in msgs[msgs.role.isin(["customer", "agent"])].sort_values("seq").groupby("conversation_id"):
        start_t, first_seen, pending_first = None, False, False
        for r in g.itertuples():
            if r.role == "customer":
                if start_t is None:
                    start_t = r.t
                    pending_first = not first_seen
                    first_seen = True
            else:
                if start_t is not None:
                    rounds.append((r.agent_id, r.t - start_t, pending_first))
                start_t, pending_first = None, False
    rounds = pd.DataFrame(rounds, columns=["agent_id", "gap", "is_first"])

    for a in agents:
        mine = msgs[(msgs.role == "agent") & (msgs.agent_id == a)]
        cids = set(mine.conversation_id)
        c = conv[conv.conversation_id.isin(cids)]
        pre = c[c.queue == "presales"]
        inquirers = set(pre.customer_id.dropna())
        ao = orders[orders.attr == a]
        ordering = set(ao.customer_id) & inquirers
        paying_inq = set(ao[ao.paid_at.notna()].customer_id) & inquirers
        paid = ao[ao.paid_at.notna()]
        sales = float(paid.amount.astype(float).sum())
        payers = paid.customer_id.nunique()
        r = rounds[rounds.agent_id == a]
        cust_msgs = msgs[(msgs.conversation_id.isin(cids)) & (msgs.role == "customer")]
        out[a] = {
            "conversations": len(cids),
            "inquiries": len(inquirers),
            "order_conversion": len(ordering) / len(inquirers) if inquirers else None,
            "payment_conversion": len(paying_inq) / len(inquirers) if inquirers else None,
            "sales": round(sales, 2),
            "avg_order_value": round(sales / payers, 2) if payers else None,
            "avg_first_response_s": round(r[r.is_first].gap.mean(), 1) if r.is_first.any() else None,
            "avg_response_s": round(r.gap.mean(), 1) if len(r) else None,
            "slow_responses": int((r.gap > slow_limit_s).sum()),
            "answer_question_ratio": round(len(mine) / len(cust_msgs), 3) if len(cust_msgs) else None,
        }
    return out
