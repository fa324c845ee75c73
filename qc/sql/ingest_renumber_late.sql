-- Grain: one row per message of a conversation that received late messages.
-- Late messages are merged by time: rows without a source seq are renumbered by
-- (ts, arrival order), after the conversation's largest source seq.
UPDATE messages AS m
SET seq = r.new_seq
FROM (
    SELECT msg_key,
        CASE WHEN source_seq IS NOT NULL THEN source_seq
             ELSE coalesce(max(source_seq) OVER (PARTITION BY conversation_id), 0)
                  + row_number() OVER (PARTITION BY conversation_id, source_seq IS NULL ORDER BY ts, ingest_order)
        END::INTEGER AS new_seq
    FROM messages
    WHERE conversation_id IN (SELECT conversation_id FROM touched)
) AS r
WHERE m.msg_key = r.msg_key AND m.seq <> r.new_seq;
