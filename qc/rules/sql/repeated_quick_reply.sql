-- repeated_quick_reply. Grain: one row per agent message that repeats an earlier agent
-- message of the same conversation — equal, or one character apart (Levenshtein <= 1), after
-- removing punctuation, spaces and emoji; at least $min_chars characters; the 2nd and every
-- later occurrence is a finding (DESIGN.md). Acknowledgements (ack.txt) and recurring
-- service formulas (service_formulas.txt, a shop may empty it) are exempt.
WITH a AS (
    SELECT conversation_id, seq, agent_id, text, norm
    FROM bmf
    WHERE role = 'agent' AND length(norm) >= $min_chars AND NOT is_ack AND NOT is_formula
      AND NOT has_placeholder   -- anonymised exports: [数字x] may hide two different numbers
), pairs AS (
    SELECT later.conversation_id, later.seq, later.agent_id, later.text,
           min(earlier.seq) AS first_seq, count(*) AS earlier_copies
    FROM a later
    JOIN a earlier ON earlier.conversation_id = later.conversation_id AND earlier.seq < later.seq
     AND abs(length(earlier.norm) - length(later.norm)) <= 1
     -- one character apart: DuckDB's levenshtein counts bytes (a CJK character is 3), so it
     -- only pre-filters; the character test substitutes (same length) or deletes one character
     AND (earlier.norm = later.norm OR (levenshtein(earlier.norm, later.norm) <= 4 AND (
          (length(earlier.norm) = length(later.norm)
           AND len(list_filter(range(1, length(later.norm) + 1),
                               lambda i: substr(earlier.norm, i, 1) <> substr(later.norm, i, 1))) <= 1)
          OR (length(earlier.norm) = length(later.norm) + 1
              AND len(list_filter(range(1, length(earlier.norm) + 1),
                                  lambda i: substr(earlier.norm, 1, i - 1) || substr(earlier.norm, i + 1) = later.norm)) > 0)
          OR (length(later.norm) = length(earlier.norm) + 1
              AND len(list_filter(range(1, length(later.norm) + 1),
                                  lambda i: substr(later.norm, 1, i - 1) || substr(later.norm, i + 1) = earlier.norm)) > 0))))
    GROUP BY ALL
)
SELECT
    p.conversation_id,
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
JOIN a f ON f.conversation_id = p.conversation_id AND f.seq = p.first_seq;
