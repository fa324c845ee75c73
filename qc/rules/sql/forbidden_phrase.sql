-- forbidden_phrase. Grain: one row per agent message with at least one forbidden phrase.
-- The finding's severity/sub-category/span are the most severe (then earliest) hit;
-- evidence lists every hit with its lexicon file:line.
WITH hits AS (
    SELECT b.conversation_id, b.seq, b.agent_id, m.phrase, m.category, m.severity,
           m.span_start, m.span_end, m.source,
           CASE m.severity WHEN 'redline' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END AS rank
    FROM mm m JOIN bmf b ON b.row = m.row
    WHERE m.lexicon = 'forbidden' AND b.role = 'agent'
)
SELECT
    conversation_id,
    seq                                                    AS message_seq,
    any_value(agent_id)                                    AS agent_id,
    arg_max(severity, rank * 100000 - span_start)          AS severity,
    arg_max(category, rank * 100000 - span_start)          AS subcategory,
    arg_max(span_start, rank * 100000 - span_start)        AS span_start,
    arg_max(span_end, rank * 100000 - span_start)          AS span_end,
    to_json(list({'phrase': phrase, 'category': category, 'severity': severity,
                  'span': [span_start, span_end], 'lexicon': source} ORDER BY span_start))::VARCHAR AS evidence,
    '命中禁用语 ' || string_agg('「' || phrase || '」(' || category || ', ' || severity || ', ' || source || ')', '；' ORDER BY span_start) AS explanation,
    NULL::DOUBLE                                           AS score,
    NULL::VARCHAR                                          AS key
FROM hits
GROUP BY conversation_id, seq;
