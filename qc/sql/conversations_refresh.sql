-- Grain: one row per conversation. Rebuilds the touched conversations from messages and
-- marks them for (re-)inspection.
-- queue: the most frequent queue given in the data; else inferred: after-sales when a
-- customer message carries a complaint cue (lexicons/complaint.txt), else pre-sales.
DELETE FROM conversations WHERE conversation_id IN (SELECT conversation_id FROM touched);

INSERT INTO conversations
SELECT
    m.conversation_id,
    arg_max(m.shop_id, m.ts)                                          AS shop_id,
    -- (the complaint regex only on messages without a queue: where the export gives one, mode()
    -- decides and the inference is never read; a CASE, so DuckDB skips the regex on the others)
    coalesce(mode(m.queue),
             CASE WHEN bool_or(CASE WHEN m.queue IS NULL AND m.role = 'customer'
                                    THEN regexp_matches(m.text, $complaint_re) ELSE false END)
                  THEN 'aftersales' ELSE 'presales' END)              AS queue,
    CASE WHEN count(m.queue) > 0 THEN 'data' ELSE 'inferred' END      AS queue_source,
    arg_min(m.customer_id, m.ts) FILTER (WHERE m.customer_id IS NOT NULL) AS customer_id,
    list_sort(list_distinct(list(m.agent_id) FILTER (WHERE m.role = 'agent'))) AS agents,
    arg_min(m.agent_id, m.seq) FILTER (WHERE m.role = 'agent')        AS first_agent_id,
    min(m.ts)                                                         AS started_at,
    max(m.ts)                                                         AS ended_at,
    arg_min(m.day, m.ts)                                              AS day,
    count(*)                                                          AS n_messages,
    count(*) FILTER (WHERE m.role = 'customer')                       AS n_customer,
    count(*) FILTER (WHERE m.role = 'agent')                          AS n_agent,
    count(*) FILTER (WHERE m.role = 'bot')                            AS n_bot,
    TRUE                                                              AS needs_inspection,
    $run                                                              AS updated_run,
    mode(m.sku)                                                       AS sku
FROM messages m
-- [$ts_lo, $ts_hi]: the span of every touched conversation's messages (pending_refresh), so a
-- night reads its own days of a store of months, not all of it (the row groups outside it are
-- skipped by their min/max); the whole history when a listed row has no span
WHERE m.ts BETWEEN $ts_lo AND $ts_hi AND m.conversation_id IN (SELECT conversation_id FROM touched)
GROUP BY m.conversation_id;
