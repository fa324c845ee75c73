-- late_urge_to_pay. Grain: one row per order created during a conversation, unpaid after
-- $window_s seconds, with no agent 催付 message in that window.
WITH conv AS (
    SELECT cid, any_value(customer_id) AS customer_id, any_value(shop_id) AS shop_id,
           min(ts) AS started, max(ts) AS ended
    FROM bmf GROUP BY cid
), o AS (
    SELECT c.cid, o.order_id, o.created_at, o.paid_at, o.agent_id AS order_agent, o.amount
    FROM conv c
    JOIN scope_orders o ON o.customer_id = c.customer_id AND o.shop_id = c.shop_id
     AND o.created_at BETWEEN c.started AND c.ended
    WHERE o.paid_at IS NULL OR epoch(o.paid_at) - epoch(o.created_at) > $window_s
), urged AS (
    SELECT DISTINCT o.cid, o.order_id
    FROM o JOIN bmf a ON a.cid = o.cid AND a.role = 'agent' AND a.has_urge
     AND a.ts > o.created_at AND a.epoch <= epoch(o.created_at) + $window_s
), last_agent AS (
    SELECT o.cid, o.order_id, arg_max(a.agent_id, a.seq) AS agent_id
    FROM o JOIN bmf a ON a.cid = o.cid AND a.role = 'agent' AND a.ts <= o.created_at
    GROUP BY ALL
)
SELECT
    o.cid,
    NULL::BIGINT                AS message_seq,
    coalesce(o.order_agent, la.agent_id) AS agent_id,
    $severity::VARCHAR          AS severity,
    NULL::VARCHAR               AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'order_id': o.order_id, 'created_at': o.created_at::VARCHAR, 'paid_at': o.paid_at::VARCHAR,
             'amount': o.amount, 'window_s': $window_s})::VARCHAR AS evidence,
    '订单 ' || o.order_id || ' 下单后 ' || ($window_s / 60)::BIGINT || ' 分钟内未付款，客服也没有催付'
        || CASE WHEN o.paid_at IS NULL THEN '（至今未付款）' ELSE '' END AS explanation,
    NULL::DOUBLE                AS score,
    o.order_id                  AS key
FROM o
LEFT JOIN urged u ON u.cid = o.cid AND u.order_id = o.order_id
LEFT JOIN last_agent la ON la.cid = o.cid AND la.order_id = o.order_id
WHERE u.order_id IS NULL;
