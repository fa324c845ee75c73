-- Grain: one row per message of a conversation in `renumber` (late messages arrived, or
-- rows with and without a source seq). The numbering rule, for every conversation:
--   * every message carries a source seq -> seq = the source seq (the export's numbering);
--   * otherwise -> seq = 1..n by (ts, source seq, arrival order): time decides, so a 10:05
--     reply with a seq never sorts before a 10:00 complaint without one.
UPDATE messages AS m
SET seq = r.new_seq
FROM (
    SELECT msg_key,
        CASE WHEN bool_and(source_seq IS NOT NULL) OVER (PARTITION BY conversation_id) THEN source_seq
             ELSE row_number() OVER (PARTITION BY conversation_id ORDER BY ts, source_seq NULLS LAST, ingest_order)
        END AS new_seq
    FROM messages
    -- [$ts_lo, $ts_hi]: the listed conversations' span (see conversations_refresh.sql)
    WHERE ts BETWEEN $ts_lo AND $ts_hi AND conversation_id IN (SELECT conversation_id FROM renumber)
) AS r
WHERE m.ts BETWEEN $ts_lo AND $ts_hi AND m.msg_key = r.msg_key AND m.seq <> r.new_seq;
