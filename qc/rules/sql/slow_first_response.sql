-- slow_first_response. Grain: one row per conversation whose first human reply came more
-- than $limit_s seconds after the customer's first message (bots do not stop the clock).
WITH first_customer AS (
    SELECT cid, min(seq) AS cseq FROM bmf WHERE role = 'customer' GROUP BY cid
), first_agent AS (
    SELECT f.cid, f.cseq, min(a.seq) AS aseq
    FROM first_customer f
    JOIN bmf a ON a.cid = f.cid AND a.role = 'agent' AND a.seq > f.cseq
    GROUP BY ALL
)
SELECT
    f.cid,
    f.aseq                      AS message_seq,
    a.agent_id,
    $severity::VARCHAR          AS severity,
    NULL::VARCHAR               AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'customer_seq': f.cseq, 'agent_seq': f.aseq, 'gap_s': round(a.epoch - c.epoch, 1), 'limit_s': $limit_s})::VARCHAR AS evidence,
    '顾客第 ' || f.cseq || ' 条消息后 ' || round(a.epoch - c.epoch)::BIGINT || ' 秒人工客服才首次回复（时限 ' || $limit_s || ' 秒）' AS explanation,
    a.epoch - c.epoch           AS score,
    NULL::VARCHAR               AS key
FROM first_agent f
JOIN bmf c ON c.cid = f.cid AND c.seq = f.cseq
JOIN bmf a ON a.cid = f.cid AND a.seq = f.aseq
WHERE a.epoch - c.epoch > $limit_s;
