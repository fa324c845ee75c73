-- repeated_quick_reply. Grain: one row per (conversation, repeated normalised agent text),
-- flagged at its second occurrence.
WITH a AS (
    SELECT conversation_id, seq, agent_id, text, norm
    FROM bmf
    WHERE role = 'agent' AND length(norm) >= $min_chars AND NOT is_ack
), dup AS (
    -- count first (a cheap hash aggregate); build the lists only for the few repeated texts
    SELECT conversation_id, norm FROM a GROUP BY conversation_id, norm HAVING count(*) >= 2
), g AS (
    SELECT conversation_id, norm,
           list(seq ORDER BY seq)      AS seqs,
           list(agent_id ORDER BY seq) AS agents,
           arg_min(text, seq)          AS first_text
    FROM a SEMI JOIN dup USING (conversation_id, norm)
    GROUP BY conversation_id, norm
)
SELECT
    conversation_id,
    seqs[2]                     AS message_seq,
    agents[2]                   AS agent_id,
    $severity::VARCHAR          AS severity,
    NULL::VARCHAR               AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'repeated_text': first_text, 'seqs': seqs, 'times': len(seqs), 'min_chars': $min_chars})::VARCHAR AS evidence,
    '同一会话中重复发送 ' || len(seqs) || ' 次：「' || first_text || '」(第 ' || array_to_string(seqs, '、') || ' 条)' AS explanation,
    len(seqs)::DOUBLE           AS score,
    norm                        AS key
FROM g;
