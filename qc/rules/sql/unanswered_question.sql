-- unanswered_question. Grain: one row per conversation that ends with a customer question
-- no human agent answered (conversations with no agent message at all are not judged).
WITH last_agent AS (
    SELECT cid, max(seq) AS la, arg_max(agent_id, seq) AS agent_id
    FROM bmf WHERE role = 'agent' GROUP BY cid
), tail_block AS (
    SELECT b.cid, l.agent_id,
           min(b.seq) FILTER (WHERE b.has_question AND NOT b.is_ack) AS qseq
    FROM bmf b JOIN last_agent l USING (cid)
    WHERE b.role = 'customer' AND b.seq > l.la
    GROUP BY ALL
)
SELECT
    t.cid,
    t.qseq                      AS message_seq,
    t.agent_id,
    $severity::VARCHAR          AS severity,
    NULL::VARCHAR               AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'question_seq': t.qseq, 'question': q.text})::VARCHAR AS evidence,
    '顾客第 ' || t.qseq || ' 条提问「' || q.text || '」之后会话结束，客服没有回复' AS explanation,
    NULL::DOUBLE                AS score,
    NULL::VARCHAR               AS key
FROM tail_block t
JOIN bmf q ON q.cid = t.cid AND q.seq = t.qseq
WHERE t.qseq IS NOT NULL;
