-- missing_apology. Grain: one row per conversation whose first complaint was followed by
-- agent replies none of which apologised. A complaint is a complaint.txt cue or the intent
-- model's `complaint` >= $complaint_threshold; an apology is an apology.txt phrase or the
-- act model's `apology` >= $apology_threshold.
WITH first_complaint AS (
    SELECT conversation_id, min(seq) AS cseq
    FROM bmf WHERE role = 'customer' AND (has_complaint OR coalesce(m_complaint, 0) >= $complaint_threshold)
    GROUP BY conversation_id
), after AS (
    SELECT c.conversation_id, c.cseq,
           count(*) FILTER (WHERE b.role = 'agent')                    AS agent_replies,
           bool_or(b.role = 'agent' AND (b.has_apology OR coalesce(b.m_apology, 0) >= $apology_threshold)) AS apologised,
           arg_min(b.agent_id, b.seq) FILTER (WHERE b.role = 'agent')  AS agent_id
    FROM first_complaint c
    JOIN bmf b ON b.conversation_id = c.conversation_id AND b.seq > c.cseq
    GROUP BY c.conversation_id, c.cseq
), cue AS (
    SELECT b.conversation_id, b.seq,
           arg_min(m.phrase, m.span_start) AS phrase, arg_min(m.category, m.span_start) AS kind,
           min(m.span_start) AS span_start, arg_min(m.span_end, m.span_start) AS span_end,
           arg_min(m.source, m.span_start) AS source
    FROM bmf b JOIN mm m ON m.row = b.row AND m.lexicon = 'complaint'
    GROUP BY b.conversation_id, b.seq
)
SELECT
    a.conversation_id,
    a.cseq                       AS message_seq,
    a.agent_id,
    $severity::VARCHAR          AS severity,
    coalesce(cue.kind, '模型识别') AS subcategory,
    cue.span_start, cue.span_end,
    to_json({'complaint_cue': cue.phrase, 'kind': cue.kind, 'lexicon': cue.source,
             'model': CASE WHEN cue.phrase IS NULL THEN $intent_model END,
             'model_p_complaint': round(cm.m_complaint, 3), 'complaint_threshold': $complaint_threshold,
             'apology_threshold': $apology_threshold,
             'agent_replies_after': a.agent_replies, 'apology_lexicon': $apology_version,
             'apology_model': $act_model})::VARCHAR AS evidence,
    CASE WHEN cue.phrase IS NOT NULL
         THEN '顾客反映问题「' || cue.phrase || '」(' || cue.kind || ', ' || cue.source || ')'
         ELSE '顾客反映问题（' || $intent_model || ' complaint p=' || round(cm.m_complaint, 2) || '）' END
        || '，之后客服 ' || a.agent_replies || ' 条回复均未致歉 (' || $apology_version || ', ' || $act_model || ')' AS explanation,
    cm.m_complaint               AS score,
    NULL::VARCHAR                AS key
FROM after a
JOIN bmf cm ON cm.conversation_id = a.conversation_id AND cm.seq = a.cseq
LEFT JOIN cue ON cue.conversation_id = a.conversation_id AND cue.seq = a.cseq
WHERE a.agent_replies > 0 AND NOT a.apologised;
