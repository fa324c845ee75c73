-- Grain: one row per agent with messages in conversations of [$start, $end) (shop-local days).
-- Definitions (README "Scorecard"): 接待人数 = conversations the agent took part in;
-- 询单人数 = distinct customers of the agent's pre-sales conversations; an order counts for
-- the agent it names, else the last agent who talked to the customer within
-- $attr_window_s seconds before it (any conversation of that shop).
-- Inside, a conversation is `cid` (its conversations rowid): windows, joins and counts on the
-- integer, not the 18-character id string (`qc scorecard` at 1M: 1.98-2.00 -> 1.79-1.85 s,
-- peak 708 -> 566 MB).
CREATE OR REPLACE TEMP TABLE kpis AS
WITH conv AS (
    SELECT *, rowid AS cid FROM conversations WHERE day >= $start AND day < $end
), cm AS (
    SELECT c.cid, m.seq, m.role, m.agent_id, epoch(m.ts) AS t, c.queue, c.customer_id, c.shop_id
    FROM messages m JOIN conv c USING (conversation_id)
), agent_conv AS (
    SELECT DISTINCT cid, agent_id, queue, customer_id, shop_id FROM cm WHERE role = 'agent'
), reception AS (
    SELECT agent_id,
           count(DISTINCT cid)                                              AS conversations,
           count(DISTINCT customer_id)                                      AS customers,
           count(DISTINCT customer_id) FILTER (WHERE queue = 'presales')    AS inquiries,
           count(DISTINCT cid) FILTER (WHERE queue = 'presales')            AS presales_conversations,
           count(DISTINCT cid) FILTER (WHERE queue = 'aftersales')          AS aftersales_conversations,
           arg_max(shop_id, 1)                                              AS any_shop
    FROM agent_conv GROUP BY agent_id
), shop_of AS (
    SELECT agent_id, mode(shop_id) AS shop_id FROM agent_conv GROUP BY agent_id
), period_orders AS (
    SELECT o.*, timezone($tz, o.created_at)::DATE AS order_day FROM orders o
    WHERE timezone($tz, o.created_at)::DATE >= $start AND timezone($tz, o.created_at)::DATE < $end
), attributed AS (
    SELECT o.order_id, o.customer_id, o.shop_id, o.amount, o.paid_at,
           coalesce(o.agent_id, (
               SELECT arg_max(m.agent_id, m.ts)
               FROM messages m JOIN conversations c2 USING (conversation_id)
               WHERE m.role = 'agent' AND c2.customer_id = o.customer_id AND c2.shop_id = o.shop_id
                 AND m.ts <= o.created_at AND epoch(o.created_at) - epoch(m.ts) <= $attr_window_s
           )) AS agent_id
    FROM period_orders o
), inquirers AS (
    SELECT DISTINCT agent_id, customer_id FROM agent_conv WHERE queue = 'presales'
), sales AS (
    SELECT a.agent_id,
           count(DISTINCT a.customer_id) FILTER (WHERE i.customer_id IS NOT NULL)                        AS ordering_customers,
           count(DISTINCT a.customer_id) FILTER (WHERE i.customer_id IS NOT NULL AND a.paid_at IS NOT NULL) AS paying_inquirers,
           count(DISTINCT a.customer_id) FILTER (WHERE a.paid_at IS NOT NULL)                            AS paying_customers,
           coalesce(sum(a.amount) FILTER (WHERE a.paid_at IS NOT NULL), 0)::DOUBLE                       AS sales
    FROM attributed a
    LEFT JOIN inquirers i ON i.agent_id = a.agent_id AND i.customer_id = a.customer_id
    WHERE a.agent_id IS NOT NULL
    GROUP BY a.agent_id
), x AS (
    SELECT cid, seq, role, agent_id, t,
           coalesce(count(*) FILTER (WHERE role = 'agent') OVER (
               PARTITION BY cid ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS k
    FROM cm WHERE role IN ('customer', 'agent')
), first_customer AS (
    SELECT cid, min(seq) AS first_cseq FROM x WHERE role = 'customer' GROUP BY cid
), rounds AS (
    SELECT cid, k, min(t) AS start_t, min(seq) AS start_seq FROM x WHERE role = 'customer' GROUP BY ALL
), answered AS (
    -- one row per round answered by an agent (the platforms' round: first unanswered customer message -> next agent message)
    SELECT a.agent_id, a.t - r.start_t AS gap, (r.start_seq = f.first_cseq) AS is_first
    FROM rounds r
    JOIN x a ON a.cid = r.cid AND a.role = 'agent' AND a.k = r.k
    JOIN first_customer f ON f.cid = r.cid
), response AS (
    SELECT agent_id,
           avg(gap) FILTER (WHERE is_first)          AS avg_first_response_s,
           avg(gap)                                  AS avg_response_s,
           count(*)                                  AS rounds,
           count(*) FILTER (WHERE gap > $slow_limit_s) AS slow_responses
    FROM answered GROUP BY agent_id
), ratio AS (
    SELECT ac.agent_id,
           sum(cnt.agent_msgs)::DOUBLE AS agent_messages, sum(cnt.customer_msgs)::DOUBLE AS customer_messages
    FROM (SELECT DISTINCT cid, agent_id FROM agent_conv) ac
    JOIN (SELECT cid, agent_id, count(*) AS agent_msgs, 0 AS customer_msgs FROM cm WHERE role = 'agent' GROUP BY ALL) cnt
      ON cnt.cid = ac.cid AND cnt.agent_id = ac.agent_id
    GROUP BY ac.agent_id
), customer_msgs AS (
    SELECT ac.agent_id, sum(n)::DOUBLE AS customer_messages
    FROM (SELECT DISTINCT cid, agent_id FROM agent_conv) ac
    JOIN (SELECT cid, count(*) AS n FROM cm WHERE role = 'customer' GROUP BY ALL) c USING (cid)
    GROUP BY ac.agent_id
), latest AS (
    SELECT finding_id, decision FROM review_latest   -- the store's one definition of 'latest'
), fcat AS (
    SELECT f.agent_id,
           count(*) FILTER (WHERE f.category = '业务类') AS findings_business,
           count(*) FILTER (WHERE f.category = '能力类') AS findings_skill,
           count(*) FILTER (WHERE f.category = '态度类') AS findings_attitude,
           count(*) FILTER (WHERE f.severity = 'redline') AS redlines
    FROM findings f JOIN conv c USING (conversation_id) LEFT JOIN latest r USING (finding_id)
    WHERE coalesce(r.decision, 'pending') NOT IN ('dismissed', 'appeal_upheld') AND f.agent_id IS NOT NULL
    GROUP BY f.agent_id
), quality AS (
    SELECT agent_id, avg(score) AS quality_score, count(*) AS scored_conversations FROM quality_scores GROUP BY agent_id
)
SELECT
    r.agent_id,
    s2.shop_id,
    CASE WHEN r.aftersales_conversations > r.presales_conversations THEN 'aftersales' ELSE 'presales' END AS role_group,
    r.conversations, r.customers, r.inquiries,
    coalesce(s.ordering_customers, 0)   AS ordering_customers,
    coalesce(s.paying_inquirers, 0)     AS paying_inquirers,
    CASE WHEN r.inquiries > 0 THEN coalesce(s.ordering_customers, 0) / r.inquiries END AS order_conversion,
    CASE WHEN r.inquiries > 0 THEN coalesce(s.paying_inquirers, 0) / r.inquiries END  AS payment_conversion,
    coalesce(s.sales, 0)                AS sales,
    coalesce(s.paying_customers, 0)     AS paying_customers,
    CASE WHEN coalesce(s.paying_customers, 0) > 0 THEN s.sales / s.paying_customers END AS avg_order_value,
    rs.avg_first_response_s, rs.avg_response_s,
    coalesce(rs.rounds, 0)              AS rounds,
    coalesce(rs.slow_responses, 0)      AS slow_responses,
    CASE WHEN rs.rounds > 0 THEN rs.slow_responses / rs.rounds END AS slow_response_rate,
    ra.agent_messages, cmsg.customer_messages,
    CASE WHEN cmsg.customer_messages > 0 THEN ra.agent_messages / cmsg.customer_messages END AS answer_question_ratio,
    coalesce(fc.findings_business, 0)   AS findings_business,
    coalesce(fc.findings_skill, 0)      AS findings_skill,
    coalesce(fc.findings_attitude, 0)   AS findings_attitude,
    coalesce(fc.redlines, 0)            AS redlines,
    q.quality_score,
    coalesce(q.scored_conversations, 0) AS scored_conversations
FROM reception r
LEFT JOIN shop_of s2 USING (agent_id)
LEFT JOIN sales s USING (agent_id)
LEFT JOIN response rs USING (agent_id)
LEFT JOIN ratio ra USING (agent_id)
LEFT JOIN customer_msgs cmsg USING (agent_id)
LEFT JOIN fcat fc USING (agent_id)
LEFT JOIN quality q USING (agent_id)
ORDER BY r.agent_id;
