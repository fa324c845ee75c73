-- emoji_only_reply. Grain: one row per agent reply block made only of emoji that answers
-- a customer block asking a question or bargaining. Blocks = runs of the same role among
-- customer/agent messages (window functions; bots and system messages ignored).
WITH x AS (
    SELECT *, CASE WHEN role = lag(role) OVER w THEN 0 ELSE 1 END AS changed
    FROM bmf WHERE role IN ('customer', 'agent')
    WINDOW w AS (PARTITION BY conversation_id ORDER BY seq)
), y AS (
    SELECT *, sum(changed) OVER (PARTITION BY conversation_id ORDER BY seq) AS blk FROM x
), blocks AS (
    SELECT conversation_id, blk, any_value(role) AS role,
           bool_or((has_question AND NOT is_ack) OR has_bargain) AS asks,
           bool_and(emoji_only)                AS all_emoji,
           min(seq)                            AS first_seq,
           arg_min(agent_id, seq)              AS agent_id,
           arg_min(text, seq) FILTER (WHERE (has_question AND NOT is_ack) OR has_bargain) AS ask_text,
           arg_min(seq, seq) FILTER (WHERE (has_question AND NOT is_ack) OR has_bargain) AS ask_seq,
           string_agg(text, ' ' ORDER BY seq)   AS texts
    FROM y GROUP BY conversation_id, blk
)
SELECT
    a.conversation_id,
    a.first_seq                 AS message_seq,
    a.agent_id,
    'medium'                    AS severity,
    NULL::VARCHAR               AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'question_seq': c.ask_seq, 'question': c.ask_text, 'reply': a.texts})::VARCHAR AS evidence,
    '顾客第 ' || c.ask_seq || ' 条提问/议价「' || c.ask_text || '」，客服只回复了表情「' || a.texts || '」' AS explanation,
    NULL::DOUBLE                AS score,
    NULL::VARCHAR               AS key
FROM blocks c
JOIN blocks a ON a.conversation_id = c.conversation_id AND a.blk = c.blk + 1
WHERE c.role = 'customer' AND c.asks AND a.role = 'agent' AND a.all_emoji;
