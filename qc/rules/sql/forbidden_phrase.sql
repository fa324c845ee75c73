-- forbidden_phrase. Grain: one row per agent message with at least one forbidden phrase.
-- The finding's severity/sub-category/span are the most severe (then earliest, then longest) hit's;
-- evidence lists every hit with its lexicon file:line.
WITH hits AS (
    SELECT b.cid, b.seq, b.agent_id, m.phrase, m.category, m.severity,
           m.span_start, m.span_end, m.source,
           CASE m.severity WHEN 'redline' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END AS rank
    FROM mm m JOIN bmf b ON b.row = m.row
    WHERE m.lexicon = 'forbidden' AND b.role = 'agent'
)
SELECT
    cid,
    seq                                                    AS message_seq,
    agent_id,
    top.severity                                           AS severity,
    top.category                                           AS subcategory,
    top.span_start                                         AS span_start,
    top.span_end                                           AS span_end,
    evidence, explanation,
    NULL::DOUBLE                                           AS score,
    NULL::VARCHAR                                          AS key
FROM (
    -- the top hit: most severe, then earliest, then longest (滚蛋 over 滚), then its lexicon
    -- line, all its fields from that one hit (1.2; before, ties went to whichever hit came first)
    SELECT cid, seq, any_value(agent_id) AS agent_id,
           max({'rank': rank, 'earlier': -span_start, 'longer': span_end - span_start, 'source': source,
                'severity': severity, 'category': category, 'span_start': span_start, 'span_end': span_end}) AS top,
           to_json(list({'phrase': phrase, 'category': category, 'severity': severity,
                         'span': [span_start, span_end], 'lexicon': source}
                        ORDER BY span_start, span_end DESC, source))::VARCHAR AS evidence,
           '命中禁用语 ' || string_agg('「' || phrase || '」(' || category || ', ' || severity || ', ' || source || ')', '；'
                                   ORDER BY span_start, span_end DESC, source) AS explanation
    FROM hits
    GROUP BY cid, seq
);
