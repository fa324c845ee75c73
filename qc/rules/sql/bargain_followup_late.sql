-- bargain_followup_late. Grain: one row per conversation where the customer bargained,
-- did not order, and the agent's answer to the customer's last message was not followed
-- by another agent message within $window_s seconds. Bargaining = a bargain.txt cue or the
-- intent model's `bargain` >= $bargain_threshold, in a message without a 价保 cue
-- (price_protection.txt: price protection on a placed order is after-sales, DESIGN.md); the
-- model alone counts only in a message about price (price_topic.txt; 配送 is delivery, not
-- 送点) that asks the seller for something (bargain_ask.txt: 能不能 / 给我 / 再让 / 别家 …).
WITH bargain AS (
    SELECT cid, min(seq) AS bseq, min(ts) AS bts
    FROM (SELECT * FROM bmf WHERE role = 'customer' AND (has_bargain OR coalesce(m_bargain, 0) >= $bargain_threshold))
    WHERE NOT regexp_matches(lower(text), $price_protection_re)
      AND (has_bargain OR (regexp_matches(replace(lower(text), '配送', ''), $price_topic_re)
                           AND regexp_matches(lower(text), $bargain_ask_re)))
    GROUP BY cid
), last_customer AS (
    SELECT cid, max(seq) AS lseq, any_value(customer_id) AS customer_id, any_value(shop_id) AS shop_id
    FROM bmf WHERE role = 'customer' GROUP BY cid
), answer AS (
    SELECT b.cid, b.bseq, b.bts, l.lseq, l.customer_id, l.shop_id, min(a.seq) AS aseq
    FROM bargain b
    JOIN last_customer l USING (cid)
    JOIN bmf a ON a.cid = b.cid AND a.role = 'agent' AND a.seq > l.lseq
    GROUP BY ALL
), answer_msg AS (
    SELECT x.*, a.epoch AS a_epoch, a.ts AS a_ts, a.agent_id
    FROM answer x JOIN bmf a ON a.cid = x.cid AND a.seq = x.aseq
), next_agent AS (
    SELECT x.cid, min(f.epoch) - any_value(x.a_epoch) AS gap, arg_min(f.seq, f.epoch) AS fseq
    FROM answer_msg x
    JOIN bmf f ON f.cid = x.cid AND f.role = 'agent' AND f.seq > x.aseq
    GROUP BY x.cid
), ordered AS (
    SELECT DISTINCT x.cid
    FROM answer_msg x
    JOIN bmf c ON c.cid = x.cid AND c.role = 'customer' AND c.seq > x.bseq
    WHERE c.has_ordered OR c.msg_type = 'order'
    UNION
    SELECT DISTINCT x.cid
    FROM answer_msg x
    JOIN scope_orders o ON o.customer_id = x.customer_id AND o.shop_id = x.shop_id
     AND o.created_at >= x.bts AND epoch(o.created_at) <= x.a_epoch + $window_s
), bargain_text AS (
    SELECT b.cid, any_value(bm.text) AS bargain_text,
           coalesce(arg_min(m.phrase, m.span_start), $intent_model || ' bargain p=' || round(any_value(bm.m_bargain), 2)) AS cue
    FROM bargain b JOIN bmf bm ON bm.cid = b.cid AND bm.seq = b.bseq
    LEFT JOIN mm m ON m.row = bm.row AND m.lexicon = 'bargain'
    GROUP BY b.cid
)
SELECT
    x.cid,
    x.aseq                      AS message_seq,
    x.agent_id,
    $severity::VARCHAR          AS severity,
    NULL::VARCHAR               AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'bargain_seq': x.bseq, 'bargain_cue': bt.cue, 'bargain_text': bt.bargain_text,
             'answer_seq': x.aseq, 'next_agent_seq': n.fseq, 'gap_s': round(n.gap, 1),
             'window_s': $window_s, 'bargain_threshold': $bargain_threshold})::VARCHAR AS evidence,
    '顾客第 ' || x.bseq || ' 条消息议价「' || bt.cue || '」后未下单；客服第 ' || x.aseq || ' 条回复后'
        || CASE WHEN n.gap IS NULL THEN '再无追单'
                ELSE ' ' || round(n.gap)::BIGINT || ' 秒才追单' END
        || '（应在 ' || $window_s || ' 秒内追单）' AS explanation,
    n.gap                       AS score,
    NULL::VARCHAR               AS key
FROM answer_msg x
LEFT JOIN next_agent n USING (cid)
LEFT JOIN bargain_text bt USING (cid)
WHERE x.cid NOT IN (SELECT cid FROM ordered)
  AND (n.gap IS NULL OR n.gap > $window_s);
