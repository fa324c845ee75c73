-- slow_response. Grain: one row per late round. A round = the customer messages after the
-- k-th human agent message; it is answered by the (k+1)-th agent message. Window functions
-- number the agent messages. Every round counts, the first included (DESIGN.md, December
-- 2026: platforms count 慢响应 over all rounds; a first reply after 95 s is also a
-- slow_first_response, and the scorecard's per-rule cap keeps it from being deducted twice).
WITH x AS (
    SELECT cid, seq, role, epoch, agent_id,
           coalesce(count(*) FILTER (WHERE role = 'agent') OVER (
               PARTITION BY cid ORDER BY seq
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS agents_before
    FROM bmf WHERE role IN ('customer', 'agent')
), rounds AS (
    SELECT cid, agents_before AS k, min(epoch) AS start_epoch, min(seq) AS start_seq
    FROM x WHERE role = 'customer' GROUP BY cid, agents_before
), agents AS (
    SELECT cid, seq, epoch, agent_id, agents_before AS k FROM x WHERE role = 'agent'
)
SELECT
    r.cid,
    a.seq                       AS message_seq,
    a.agent_id,
    $severity::VARCHAR          AS severity,
    NULL::VARCHAR               AS subcategory,
    NULL::INTEGER               AS span_start,
    NULL::INTEGER               AS span_end,
    to_json({'round_start_seq': r.start_seq, 'agent_seq': a.seq, 'gap_s': round(a.epoch - r.start_epoch, 1), 'limit_s': $limit_s})::VARCHAR AS evidence,
    '顾客第 ' || r.start_seq || ' 条消息起等待 ' || round(a.epoch - r.start_epoch)::BIGINT || ' 秒才得到回复（时限 ' || $limit_s || ' 秒）' AS explanation,
    a.epoch - r.start_epoch     AS score,
    NULL::VARCHAR               AS key
FROM rounds r
JOIN agents a ON a.cid = r.cid AND a.k = r.k
WHERE a.epoch - r.start_epoch > $limit_s;
