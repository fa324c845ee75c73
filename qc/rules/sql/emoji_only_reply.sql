-- emoji_only_reply. Grain: one row per agent reply block made only of emoji that answers
-- a customer block asking a question or bargaining. Blocks = runs of the same role among
-- customer/agent messages (window functions; bots and system messages ignored).
WITH candidates AS (
    -- only conversations with an emoji-only agent message can have a finding: the block
    -- windows below then run over a few percent of the day instead of all of it
    SELECT DISTINCT cid FROM bmf WHERE role = 'agent' AND emoji_only
), x AS (
    SELECT cid, seq, role,
           ((has_question AND NOT is_ack) OR has_bargain) AS asks, emoji_only,
           CASE WHEN role = lag(role) OVER w THEN 0 ELSE 1 END AS changed
    FROM bmf WHERE role IN ('customer', 'agent') AND cid IN (SELECT cid FROM candidates)
    WINDOW w AS (PARTITION BY cid ORDER BY seq)
), y AS (
    SELECT *, sum(changed) OVER (PARTITION BY cid ORDER BY seq) AS blk FROM x
), blocks AS (
    SELECT cid, blk, any_value(role) AS role, bool_or(asks) AS asks,
           bool_and(emoji_only) AS all_emoji, min(seq) AS first_seq, max(seq) AS last_seq,
           min(seq) FILTER (WHERE asks) AS ask_seq
    FROM y GROUP BY cid, blk
), flagged AS (
    SELECT a.cid, a.first_seq, a.last_seq, c.ask_seq
    FROM blocks c
    JOIN blocks a ON a.cid = c.cid AND a.blk = c.blk + 1
    WHERE c.role = 'customer' AND c.asks AND a.role = 'agent' AND a.all_emoji
), texts AS (
    -- only the few flagged blocks need their texts
    SELECT f.cid, f.first_seq, f.ask_seq,
           any_value(b.agent_id ORDER BY b.seq) AS agent_id,
           string_agg(b.text, ' ' ORDER BY b.seq) FILTER (WHERE b.role = 'agent') AS reply,
           any_value(q.text) AS question
    FROM flagged f
    JOIN bmf b ON b.cid = f.cid AND b.seq BETWEEN f.first_seq AND f.last_seq
    JOIN bmf q ON q.cid = f.cid AND q.seq = f.ask_seq
    GROUP BY f.cid, f.first_seq, f.ask_seq
)
SELECT
    cid,
    first_seq                   AS message_seq,
    agent_id,
    $severity::VARCHAR          AS severity,
    NULL::VARCHAR               AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'question_seq': ask_seq, 'question': question, 'reply': reply})::VARCHAR AS evidence,
    '顾客第 ' || ask_seq || ' 条提问/议价「' || question || '」，客服只回复了表情「' || reply || '」' AS explanation,
    NULL::DOUBLE                AS score,
    NULL::VARCHAR               AS key
FROM texts;
