-- Grain of order_checked: one row per staged order row, with its problem (if any) and
-- status (new | updated | duplicate). An order seen again with a changed state (e.g. paid
-- later) updates the stored row; an identical one is a duplicate. The raw line is joined back
-- from `staged_raw` for the quarantined rows only (qc/ingest.py), as for chats.
CREATE OR REPLACE TEMP TABLE order_checked AS
WITH base AS (
    SELECT s.line,
        nullif(qtrim(s.order_id), '')                       AS order_id,
        nullif(qtrim(s.customer_id), '')                    AS customer_id,
        coalesce(nullif(qtrim(s.shop_id), ''), 'default')   AS shop_id,
        nullif(qtrim(s.agent_id), '')                       AS agent_id,
        nullif(qtrim(s.created_at), '')                     AS created_s,
        nullif(qtrim(s.paid_at), '')                        AS paid_s,
        nullif(qtrim(s.amount), '')                         AS amount_s
    FROM staged s WHERE s.kind = 'order'
), typed AS (
    SELECT b.*,
        parse_ts(b.created_s, coalesce(st.tz, $tz))        AS created_at,
        CASE WHEN lower(b.paid_s) IN ('null', 'none', '未付款', '-') THEN NULL
             ELSE parse_ts(b.paid_s, coalesce(st.tz, $tz)) END AS paid_at,
        try_cast(replace(replace(b.amount_s, ',', ''), '¥', '') AS DECIMAL(14, 2)) AS amount
    FROM base b LEFT JOIN shop_tz st ON st.shop_id = b.shop_id
), checked AS (
    SELECT t.*,
        CASE
            WHEN t.order_id IS NULL THEN 'order_id'
            WHEN t.customer_id IS NULL THEN 'customer_id'
            WHEN t.created_s IS NULL OR t.created_at IS NULL OR NOT ts_in_range(t.created_at) THEN 'created_at'
            WHEN t.paid_s IS NOT NULL AND lower(t.paid_s) NOT IN ('null', 'none', '未付款', '-') AND t.paid_at IS NULL THEN 'paid_at'
            WHEN t.amount_s IS NULL OR t.amount IS NULL OR t.amount < 0 THEN 'amount'
        END AS bad_field,
        CASE
            WHEN t.order_id IS NULL THEN '订单缺少 order_id (missing)'
            WHEN t.customer_id IS NULL THEN '订单缺少 customer_id (missing)'
            WHEN t.created_s IS NULL THEN '订单缺少 created_at (missing)'
            WHEN t.created_at IS NULL THEN '无法解析的下单时间 (unparseable time): ' || t.created_s
            WHEN NOT ts_in_range(t.created_at) THEN '下单时间超出范围 (out of range): ' || t.created_s
            WHEN t.paid_s IS NOT NULL AND lower(t.paid_s) NOT IN ('null', 'none', '未付款', '-') AND t.paid_at IS NULL
                THEN '无法解析的付款时间 (unparseable time): ' || t.paid_s
            WHEN t.amount_s IS NULL THEN '订单缺少 amount (missing)'
            WHEN t.amount IS NULL THEN '金额不是数字 (not a number): ' || t.amount_s
            WHEN t.amount < 0 THEN '金额为负 (negative amount): ' || t.amount_s
        END AS bad_reason
    FROM typed t
), latest AS (
    -- the same order twice in one file: the last line wins
    SELECT c.*, row_number() OVER (PARTITION BY c.order_id ORDER BY c.line DESC) AS rn FROM checked c WHERE c.bad_field IS NULL
)
SELECT c.*,
    CASE
        WHEN c.bad_field IS NOT NULL THEN NULL
        WHEN l.rn > 1 THEN 'duplicate'
        WHEN o.order_id IS NULL THEN 'new'
        WHEN o.customer_id = c.customer_id AND o.shop_id = c.shop_id
             AND o.agent_id IS NOT DISTINCT FROM c.agent_id AND o.created_at = c.created_at
             AND o.paid_at IS NOT DISTINCT FROM c.paid_at AND o.amount = c.amount THEN 'duplicate'
        ELSE 'updated'
    END AS status
FROM checked c
LEFT JOIN latest l ON l.line = c.line
LEFT JOIN orders o ON o.order_id = c.order_id;

DELETE FROM orders WHERE order_id IN (SELECT order_id FROM order_checked WHERE status = 'updated');

INSERT INTO orders
SELECT order_id, customer_id, shop_id, agent_id, created_at, paid_at, amount, $file, line, $run
FROM order_checked WHERE status IN ('new', 'updated');
