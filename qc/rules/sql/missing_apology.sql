-- missing_apology. Grain: one row per conversation with a complaint that no agent message
-- after it apologises for (DESIGN.md: every complaint needs an apology after it); flagged at
-- the first such complaint.
-- A complaint is a customer message with a complaint.txt cue or a complaint_patterns.txt
-- construction (为什么…不能), or the intent model's
-- `complaint` >= $complaint_threshold without a 价保 cue — and never a closing reply
-- (closing.txt as the whole message), a short answer to the agent's closing question
-- (还有其他可以帮您的吗 -> 没有了 / 没了，尽快处理吧), a question about what could go wrong
-- (hypothetical.txt), or the customer's own choice or mistake (own_fault.txt); the model alone
-- never makes a bare service request (service_request.txt: 转人工, 申请退货) a complaint.
-- An apology is an apology.txt phrase or the act model's `apology` >= $apology_threshold.
WITH signal AS (
    SELECT *, regexp_extract(lower(text), $complaint_pattern_re) AS pattern_hit
    FROM bmf
    WHERE role = 'customer' AND (has_complaint OR coalesce(m_complaint, 0) >= $complaint_threshold
                                 OR regexp_matches(lower(text), $complaint_pattern_re))
), ctx AS (
    -- does the agent message just before the candidate ask the closing question? (a join of
    -- the few candidates, not a window over the day)
    SELECT s.*, coalesce(arg_max(a.has_closing_question, a.seq), false) AS after_closing_question
    FROM signal s
    LEFT JOIN bmf a ON a.cid = s.cid AND a.role = 'agent' AND a.seq < s.seq
    GROUP BY ALL
), complaint AS (
    -- the whole-message checks run on these few candidates only
    SELECT cid, seq AS cseq, has_complaint, m_complaint, pattern_hit
    FROM ctx
    WHERE NOT coalesce(norm <> '' AND regexp_full_match(norm, $closing_re), false)
      AND NOT (after_closing_question AND (coalesce(length(norm) <= 6, false)
                                           OR regexp_matches(lower(text), $closing_start_re)))
      AND NOT (has_question AND regexp_matches(lower(text), $hypothetical_re))
      AND NOT regexp_matches(lower(text), $own_fault_re)
      AND NOT regexp_matches(lower(text), $worry_re)      -- 怕买了两个用不了: a fear, not a report
      AND (has_complaint OR pattern_hit <> ''     -- a cue, or a construction (complaint_patterns.txt)
           -- the model alone: not a 价保 request, not a bare service request (转人工, 申请退货:
           -- service_request.txt), and a question only when the model is sure
           -- (旧的怎么办？ / 退款几天到账 are service questions the model scores 0.93-0.95)
           OR (coalesce(m_complaint, 0) >= $complaint_threshold AND NOT regexp_matches(lower(text), $price_protection_re)
               AND NOT regexp_matches(lower(text), $service_request_re)
               AND (NOT has_question OR m_complaint >= 0.98)
               -- and not a scrap: the model put 0.99 on 在没 (在吗?) on real chats
               AND coalesce(length(norm), 99) >= $model_min_chars))
), unapologised AS (
    SELECT c.cid, c.cseq,
           count(*) FILTER (WHERE b.role = 'agent')                    AS agent_replies,
           bool_or(b.role = 'agent' AND (b.has_apology OR coalesce(b.m_apology, 0) >= $apology_threshold)) AS apologised,
           arg_min(b.agent_id, b.seq) FILTER (WHERE b.role = 'agent')  AS agent_id
    FROM complaint c
    JOIN bmf b ON b.cid = c.cid AND b.seq > c.cseq
    GROUP BY c.cid, c.cseq
), first_missing AS (
    SELECT cid, arg_min(cseq, cseq) AS cseq, arg_min(agent_replies, cseq) AS agent_replies,
           arg_min(agent_id, cseq) AS agent_id, count(*) AS unapologised_complaints
    FROM unapologised WHERE agent_replies > 0 AND NOT apologised
    GROUP BY cid
), cue AS (
    -- the earliest cue, the longest of those that start there (怎么还没发货 over 怎么还没), then
    -- the lexicon line: one hit's phrase, kind, span and line together, whatever order the
    -- hits arrive in (2.4; before, ties went to whichever hit a thread saw first)
    SELECT cid, seq, c.phrase, c.kind, c.span_start, c.span_end, c.source
    FROM (SELECT b.cid, b.seq,
                 min({'span_start': m.span_start, 'shorter': m.span_start - m.span_end, 'source': m.source,
                      'phrase': m.phrase, 'kind': m.category, 'span_end': m.span_end}) AS c
          FROM bmf b JOIN mm m ON m.row = b.row AND m.lexicon = 'complaint'
          GROUP BY b.cid, b.seq)
)
SELECT
    a.cid,
    a.cseq                       AS message_seq,
    a.agent_id,
    -- the intent model alone is one step lower: on the blind-labelled real chats its findings were
    -- true 34 of 65 times, those with a lexicon cue 95 of 109 (README, "On real chats")
    CASE WHEN cue.phrase IS NULL AND coalesce(cm_pattern, '') = '' THEN 'medium' ELSE $severity::VARCHAR END AS severity,
    coalesce(cue.kind, CASE WHEN cm_pattern <> '' THEN '句式识别' END, '模型识别') AS subcategory,
    cue.span_start, cue.span_end,
    to_json({'complaint_cue': cue.phrase, 'kind': cue.kind, 'lexicon': cue.source,
             'complaint_pattern': CASE WHEN cue.phrase IS NULL AND cm_pattern <> '' THEN cm_pattern END,
             'signal': CASE WHEN cue.phrase IS NOT NULL THEN 'lexicon' WHEN cm_pattern <> '' THEN 'pattern' ELSE 'model' END,
             'model': CASE WHEN cue.phrase IS NULL AND coalesce(cm_pattern, '') = '' THEN $intent_model END,
             'model_p_complaint': round(a.m_complaint, 3), 'complaint_threshold': $complaint_threshold,
             'apology_threshold': $apology_threshold, 'unapologised_complaints': a.unapologised_complaints,
             'agent_replies_after': a.agent_replies, 'apology_lexicon': $apology_version,
             'apology_model': $act_model})::VARCHAR AS evidence,
    CASE WHEN cue.phrase IS NOT NULL
         THEN '顾客反映问题「' || cue.phrase || '」(' || cue.kind || ', ' || cue.source || ')'
         WHEN cm_pattern <> ''
         THEN '顾客反映问题「' || cm_pattern || '」(投诉句式, lexicons/complaint_patterns.txt)'
         ELSE '顾客反映问题（仅模型判断 ' || $intent_model || ' complaint p=' || round(a.m_complaint, 2) || '，严重度降为中）' END
        || '，之后客服 ' || a.agent_replies || ' 条回复均未致歉 (' || $apology_version || ', ' || $act_model || ')' AS explanation,
    a.m_complaint               AS score,
    NULL::VARCHAR                AS key
FROM (SELECT f.*, cm.m_complaint, regexp_extract(lower(cm.text), $complaint_pattern_re) AS cm_pattern
      FROM first_missing f JOIN bmf cm ON cm.cid = f.cid AND cm.seq = f.cseq) a
LEFT JOIN cue ON cue.cid = a.cid AND cue.seq = a.cseq;
