-- repeated_quick_reply. Grain: one row per agent message that repeats an earlier agent
-- message of the same conversation — equal, or one character apart (Levenshtein <= 1), after
-- removing punctuation, spaces and emoji; at least $min_chars characters; the 2nd and every
-- later occurrence is a finding (DESIGN.md). Acknowledgements (ack.txt) and recurring
-- service formulas (service_formulas.txt, a shop may empty it) are exempt.
WITH a AS (
    SELECT cid, seq, agent_id, text, norm
    FROM bmf
    WHERE role = 'agent' AND length(norm) >= $min_chars AND NOT is_ack
), a3 AS (
    SELECT *, left(norm, 3) AS head, right(norm, 3) AS tail, length(norm) AS len FROM a
), cand AS (
    -- Two texts one character apart share their first three or their last three characters
    -- (one edit cannot touch both ends of a text of >= 6 characters): two hash joins find
    -- every candidate pair without comparing all pairs of a conversation.
    SELECT e.cid, e.seq AS eseq, l.seq AS lseq, e.norm AS enorm, l.norm AS lnorm
    FROM a3 e JOIN a3 l ON l.cid = e.cid AND l.head = e.head
     AND e.seq < l.seq AND abs(e.len - l.len) <= 1
    UNION
    SELECT e.cid, e.seq, l.seq, e.norm, l.norm
    FROM a3 e JOIN a3 l ON l.cid = e.cid AND l.tail = e.tail
     AND e.seq < l.seq AND abs(e.len - l.len) <= 1
), near AS (
    SELECT cid, eseq, lseq FROM cand
    WHERE enorm = lnorm OR (levenshtein(enorm, lnorm) <= 4 AND (
          -- one character apart: DuckDB's levenshtein counts bytes (a CJK character is 3), so
          -- it only pre-filters; the character test substitutes (same length) or deletes one
          (length(enorm) = length(lnorm)
           AND len(list_filter(range(1, length(lnorm) + 1), lambda i: substr(enorm, i, 1) <> substr(lnorm, i, 1))) <= 1)
          OR (length(enorm) = length(lnorm) + 1
              AND len(list_filter(range(1, length(enorm) + 1), lambda i: substr(enorm, 1, i - 1) || substr(enorm, i + 1) = lnorm)) > 0)
          OR (length(lnorm) = length(enorm) + 1
              AND len(list_filter(range(1, length(lnorm) + 1), lambda i: substr(lnorm, 1, i - 1) || substr(lnorm, i + 1) = enorm)) > 0)))
), pairs AS (
    SELECT n.cid, n.lseq AS seq, any_value(l.agent_id) AS agent_id,
           min(n.eseq) AS first_seq, count(*) AS earlier_copies
    FROM near n JOIN a l ON l.cid = n.cid AND l.seq = n.lseq
    -- The two exemptions test only the few repeating messages: each names n.eseq (always below
    -- n.lseq), so the optimizer cannot push it under the join into the scan of every agent
    -- message — it did, and the regexes took 0.42 of the rule's 0.58 s at 1M.
    -- Anonymised exports: [数字x] may hide two different numbers, so such texts are not compared.
    WHERE NOT coalesce(n.eseq < n.lseq AND contains(l.text, 'x]') AND regexp_matches(l.text, '\[[^\[\]]{1,8}x\]'), false)
    -- a recurring service formula (service_formulas.txt) with at most 6 other characters
      AND NOT coalesce(n.eseq < n.lseq AND regexp_matches(l.norm, $formulas_re)
                       AND length(regexp_replace(l.norm, $formulas_re, '', 'g')) <= 6, false)
    GROUP BY n.cid, n.lseq
)
SELECT
    p.cid,
    p.seq                       AS message_seq,
    p.agent_id,
    $severity::VARCHAR          AS severity,
    NULL::VARCHAR               AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'repeated_text': f.text, 'first_seq': p.first_seq, 'occurrence': p.earlier_copies + 1,
             'min_chars': $min_chars})::VARCHAR AS evidence,
    '第 ' || (p.earlier_copies + 1) || ' 次发送相同（或几乎相同）的快捷回复「' || f.text || '」(首次为第 ' || p.first_seq || ' 条)' AS explanation,
    (p.earlier_copies + 1)::DOUBLE AS score,
    NULL::VARCHAR               AS key
FROM pairs p
JOIN a f ON f.cid = p.cid AND f.seq = p.first_seq;
