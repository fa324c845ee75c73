-- Grain of chat_keyed: one row per good staged chat row, with its content key and status
-- (new | duplicate | conflict). Then inserts the new ones into messages.
-- The key is a hash of the content plus the occurrence number of identical content in
-- this file, so the same message in an overlapping export is a duplicate, while a
-- customer who really sent "？" twice in the same second keeps both.
CREATE OR REPLACE TEMP TABLE chat_keyed AS
WITH good AS (
    SELECT *,
        md5(concat_ws(chr(31), conversation_id, epoch_ms(ts)::VARCHAR, role, coalesce(agent_id, ''), text, msg_type)) AS h
    FROM chat_checked WHERE bad_field IS NULL
), keyed AS (
    SELECT *, h || ':' || (row_number() OVER (PARTITION BY h ORDER BY line) - 1)::VARCHAR AS msg_key
    FROM good
), marked AS (
    SELECT k.*,
        EXISTS (SELECT 1 FROM messages m WHERE m.msg_key = k.msg_key) AS is_dup
    FROM keyed k
), seq_claims AS (
    -- a source seq already used by another message of the conversation is a conflict
    SELECT m.*,
        CASE
            WHEN m.is_dup THEN 'duplicate'
            WHEN m.source_seq IS NOT NULL AND (
                 EXISTS (SELECT 1 FROM messages x WHERE x.conversation_id = m.conversation_id AND x.source_seq = m.source_seq)
                 OR row_number() OVER (PARTITION BY m.conversation_id, m.source_seq, m.is_dup ORDER BY m.line) > 1)
                THEN 'conflict'
            ELSE 'new'
        END AS status
    FROM marked m
)
SELECT * FROM seq_claims;

-- Rows with a source seq keep it (no window needed); ingest_order = the store's largest
-- so far + the file line, which keeps file order for ties in ts without a global sort.
INSERT INTO messages
SELECT
    msg_key, conversation_id, source_seq::INTEGER AS seq,
    source_seq, ts, ts_local, ts_local::DATE AS day, role, agent_id, customer_id, shop_id, queue, text, msg_type,
    $file AS source_file, line AS source_line, $run AS ingest_run,
    $order_base + line AS ingest_order
FROM chat_keyed
WHERE status = 'new' AND source_seq IS NOT NULL;

-- Rows without a source seq: after the conversation's largest source seq, by time then
-- file order. Late rows of known conversations are renumbered afterwards
-- (ingest_renumber_late.sql).
INSERT INTO messages
SELECT
    k.msg_key, k.conversation_id,
    (coalesce(mx.max_seq, 0) + row_number() OVER (PARTITION BY k.conversation_id ORDER BY k.ts, k.line))::INTEGER AS seq,
    k.source_seq, k.ts, k.ts_local, k.ts_local::DATE AS day, k.role, k.agent_id, k.customer_id, k.shop_id, k.queue,
    k.text, k.msg_type, $file AS source_file, k.line AS source_line, $run AS ingest_run,
    $order_base + k.line AS ingest_order
FROM chat_keyed k
LEFT JOIN (SELECT conversation_id, max(source_seq) AS max_seq FROM chat_keyed WHERE status = 'new'
           GROUP BY conversation_id) mx USING (conversation_id)
WHERE k.status = 'new' AND k.source_seq IS NULL;
