-- Grain of chat_keyed: one row per good staged chat row, with its content key and status
-- (new | duplicate | conflict). Then inserts the new ones into messages.
-- The key is the content hash `h` (ingest_messages_check.sql) plus the occurrence number of
-- identical content in this file, so the same message in an overlapping export is a
-- duplicate, while a customer who really sent "？" twice in the same second keeps both.
-- The good rows are chat_checked's rows with bad_field IS NULL (h is NULL on the others).

-- Windows over a million distinct keys are slow; identical content within a file is rare,
-- so only those rows get an occurrence number (grain: one row per repeated-content row).
-- Identical rows on adjacent lines are real repeats (a customer sending "？" twice in one
-- second) and count one by one; an identical row further away is the same message exported
-- twice (a block of lines pasted again): it gets the occurrence number of its copy, so it is
-- a duplicate — and never a false repeated_quick_reply.
CREATE OR REPLACE TEMP TABLE chat_occ AS
WITH r AS (
    SELECT line, h, line - row_number() OVER (PARTITION BY h ORDER BY line) AS run
    -- (candidates by the 64-bit hash of h: grouping a million integers, not 32-character
    -- strings; a collision only adds a candidate, which the exact window below leaves alone)
    FROM chat_checked WHERE h IS NOT NULL AND hash(h) IN (
        SELECT hash(h) AS hh FROM chat_checked WHERE h IS NOT NULL GROUP BY hh HAVING count(*) > 1)
), o AS (
    SELECT line, h, row_number() OVER (PARTITION BY h, run ORDER BY line) - 1 AS occ FROM r
)
-- `copy`: a later line with the same key in this file (the first one is the message)
SELECT line, occ, line <> min(line) OVER (PARTITION BY h, occ) AS copy FROM o;

CREATE OR REPLACE TEMP TABLE chat_keyed AS
WITH keyed AS (
    SELECT g.line, g.conversation_id, g.source_seq, g.ts,
           g.h || ':' || coalesce(o.occ, 0)::VARCHAR AS msg_key, coalesce(o.copy, false) AS copy
    FROM chat_checked g LEFT JOIN chat_occ o USING (line)
    WHERE g.bad_field IS NULL
), marked AS MATERIALIZED (
    -- A stored copy has the same ts (the key hashes it), so only messages of the piece's time
    -- span [$ts_lo, $ts_hi] are read: a night's file does not scan every key of the history.
    SELECT k.* EXCLUDE (copy),
           k.copy OR coalesce(k.msg_key IN (SELECT msg_key FROM messages WHERE ts BETWEEN $ts_lo AND $ts_hi), false) AS is_dup
    FROM keyed k
), stored AS (
    -- the piece's conversations that already have messages in the store: every such one has a
    -- row in conversations or waits in pending_refresh (ingest keeps that true, see
    -- _repair_conversations). A new day's conversations have none, and no stored message is read.
    SELECT conversation_id FROM conversations WHERE conversation_id IN (SELECT conversation_id FROM marked)
    UNION
    SELECT conversation_id FROM pending_refresh WHERE conversation_id IN (SELECT conversation_id FROM marked)
), claims AS (
    -- a source seq claimed by two new rows of one conversation: the first (by line) wins
    SELECT line, row_number() OVER (PARTITION BY conversation_id, source_seq ORDER BY line) AS rn
    FROM marked
    WHERE NOT is_dup AND source_seq IS NOT NULL
      -- (candidates by hash, as in chat_occ: the window's exact key decides)
      AND hash(conversation_id, source_seq) IN (
          SELECT hash(conversation_id, source_seq) AS hk FROM marked WHERE NOT is_dup AND source_seq IS NOT NULL
          GROUP BY hk HAVING count(*) > 1)
), taken AS (
    -- a source seq already used by a stored message of the conversation
    SELECT DISTINCT x.line
    FROM marked x
    JOIN (SELECT conversation_id, source_seq FROM messages
          WHERE conversation_id IN (SELECT conversation_id FROM stored)) m
      ON m.conversation_id = x.conversation_id AND m.source_seq = x.source_seq
    WHERE NOT x.is_dup AND x.source_seq IS NOT NULL
)
SELECT m.*,
    CASE
        WHEN m.is_dup THEN 'duplicate'
        WHEN t.line IS NOT NULL OR c.rn > 1 THEN 'conflict'
        ELSE 'new'
    END AS status
FROM marked m
LEFT JOIN claims c USING (line)
LEFT JOIN taken t USING (line);

-- Rows with a source seq keep it (no window needed); ingest_order = the store's largest
-- so far + the file line, which keeps file order for ties in ts without a global sort.
INSERT INTO messages
SELECT
    k.msg_key, c.conversation_id, c.source_seq AS seq,
    c.source_seq, c.ts, c.ts_local, c.ts_local::DATE AS day, c.role, c.agent_id, c.customer_id, c.shop_id, c.queue, c.text, c.msg_type,
    $file AS source_file, c.line AS source_line, $run AS ingest_run,
    $order_base + c.line AS ingest_order, c.sku
FROM chat_keyed k JOIN chat_checked c USING (line)
WHERE k.status = 'new' AND k.source_seq IS NOT NULL;

-- Rows without a source seq: after the conversation's largest source seq, by time then
-- file order. Late rows of known conversations are renumbered afterwards
-- (ingest_renumber_late.sql).
INSERT INTO messages
SELECT
    k.msg_key, k.conversation_id,
    (coalesce(mx.max_seq, 0) + row_number() OVER (PARTITION BY k.conversation_id ORDER BY k.ts, k.line))::BIGINT AS seq,
    k.source_seq, k.ts, c.ts_local, c.ts_local::DATE AS day, c.role, c.agent_id, c.customer_id, c.shop_id, c.queue,
    c.text, c.msg_type, $file AS source_file, k.line AS source_line, $run AS ingest_run,
    $order_base + k.line AS ingest_order, c.sku
FROM chat_keyed k JOIN chat_checked c USING (line)
LEFT JOIN (SELECT conversation_id, max(source_seq) AS max_seq FROM chat_keyed WHERE status = 'new'
           GROUP BY conversation_id) mx ON mx.conversation_id = k.conversation_id
WHERE k.status = 'new' AND k.source_seq IS NULL;
