-- rude_tone. Grain: one row per agent message the act model scores as impatient or rude
-- (不耐烦/冷淡/讥讽/命令) at or above $threshold, that no forbidden.txt phrase already flagged.
-- Courteous formulas (courtesy.txt as the whole message) never; a short reply (at most
-- $short_chars letters) needs p >= $short_threshold: on real chats the model read 您好啊 /
-- 不用谢 as rude at 0.86-0.90.
-- Since 1.2 the message must be in the blunt register: no softener of tone_softeners.txt
-- (亲/您/哦/呢…) and a marker of tone_blunt.txt (你/别/呗/烦/几遍…). On real chats the model
-- scored neutral replies (我问问, 您需要自己买dp线) 0.9-1.0: its p alone cannot tell them apart.
SELECT
    cid,
    seq                         AS message_seq,
    agent_id,
    CASE WHEN m_rude >= $high_threshold THEN 'high' ELSE $severity::VARCHAR END AS severity,
    '语气' AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'model': $act_model, 'label': 'rude', 'p': round(m_rude, 3), 'threshold': $threshold, 'text': text})::VARCHAR AS evidence,
    '模型 ' || $act_model || ' 判断语气不耐烦/粗鲁 (p=' || round(m_rude, 2) || ' ≥ ' || $threshold || ')：「' || text || '」' AS explanation,
    m_rude                      AS score,
    NULL::VARCHAR               AS key
FROM (SELECT * FROM bmf WHERE role = 'agent' AND m_rude >= $threshold)   -- the few the model suspects
WHERE NOT has_forbidden AND NOT coalesce(norm <> '' AND regexp_full_match(norm, $courtesy_re), false)
  AND NOT regexp_matches(coalesce(norm, ''), $tone_softener_re)
  AND regexp_matches(coalesce(norm, ''), $tone_blunt_re)
  AND m_rude >= CASE WHEN coalesce(length(norm), 0) <= $short_chars THEN greatest($threshold, $short_threshold)
                     ELSE $threshold END;
