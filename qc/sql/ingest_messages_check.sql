-- Grain: one row per staged chat row (a line/item/row of one input file).
-- Normalises roles, types, queue and time; names the first failing field and why; and gives
-- each good row its content hash `h` (the message key's first part, ingest_messages_insert.sql)
-- here, in the same pass: a separate table of the good rows copied ~100 MB per 460k lines.
-- The raw line stays in `staged_raw` (joined back by line for the few quarantined rows): carrying
-- it through every step copied ~170 MB per 1M messages three times.
CREATE OR REPLACE TEMP TABLE chat_checked AS
WITH base AS (
    SELECT
        s.line, s.kind,
        nullif(qtrim(s.conversation_id), '')        AS conversation_id,
        nullif(qtrim(s.seq), '')                    AS seq_s,
        nullif(qtrim(s.ts), '')                     AS ts_s,
        lower(nullif(qtrim(s.role), ''))            AS role_s,
        nullif(qtrim(s.agent_id), '')               AS agent_id_s,
        nullif(qtrim(s.customer_id), '')            AS customer_id,
        coalesce(nullif(qtrim(s.shop_id), ''), 'default') AS shop_id,
        lower(nullif(qtrim(s.queue), ''))           AS queue_s,
        coalesce(s.text, '')                       AS text,
        lower(nullif(qtrim(s.msg_type), ''))        AS msg_type_s,
        nullif(qtrim(s.sku), '')                    AS sku
    FROM staged s
    WHERE s.kind IN ('chat', 'bad')
), typed AS (
    SELECT
        b.*,
        coalesce(st.tz, $tz) AS tz,
        CASE WHEN ra.value IS NOT NULL THEN ra.value
             WHEN b.role_s LIKE '%:%' THEN 'agent' END          AS role,
        CASE WHEN b.agent_id_s IS NOT NULL THEN b.agent_id_s
             WHEN ra.value IS NULL AND b.role_s LIKE '%:%' THEN b.role_s END AS agent_id,
        coalesce(ma.value, CASE WHEN b.msg_type_s IS NULL THEN 'text' ELSE 'other' END) AS msg_type,
        qa.value                                                AS queue,
        -- seq: a non-negative integer (3 or 3.0); 3.5 is not rounded to 4 (it would then
        -- collide with the real seq 4), and values beyond 2^53 are refused (JSON consumers)
        CASE WHEN NOT contains(b.seq_s, '.') THEN try_cast(b.seq_s AS BIGINT)      -- the common case, no regex
             WHEN regexp_full_match(b.seq_s, '[0-9]+(\.0+)?')
             THEN try_cast(regexp_extract(b.seq_s, '^[0-9]+') AS BIGINT) END AS source_seq,
        parse_ts(b.ts_s, coalesce(st.tz, $tz))                  AS ts
    FROM base b
    LEFT JOIN role_alias ra ON ra.alias = b.role_s
    LEFT JOIN msg_type_alias ma ON ma.alias = b.msg_type_s
    LEFT JOIN queue_alias qa ON qa.alias = b.queue_s
    LEFT JOIN shop_tz st ON st.shop_id = b.shop_id
)
-- (the raw field values, the _s columns, only feed bad_reason: not carried into the table)
SELECT * EXCLUDE (kind, seq_s, ts_s, role_s, agent_id_s, queue_s, msg_type_s, tz),
    -- the message content hash (stable: stored keys and finding ids are built from it)
    CASE WHEN bad_field IS NULL
         THEN md5(concat_ws(chr(31), conversation_id, epoch_ms(ts)::VARCHAR, role, coalesce(agent_id, ''), text, msg_type))
    END AS h
FROM (
SELECT
    t.*,
    timezone(t.tz, t.ts)          AS ts_local,
    CASE
        WHEN t.kind = 'bad'             THEN '(整行)'
        WHEN t.conversation_id IS NULL  THEN 'conversation_id'
        WHEN t.ts_s IS NULL             THEN 'ts'
        WHEN t.ts IS NULL OR NOT ts_in_range(t.ts) THEN 'ts'
        WHEN t.role_s IS NULL           THEN 'role'
        WHEN t.role IS NULL             THEN 'role'
        WHEN t.role = 'agent' AND t.agent_id IS NULL THEN 'agent_id'
        WHEN t.seq_s IS NOT NULL AND (t.source_seq IS NULL OR t.source_seq < 0 OR t.source_seq > 9007199254740991) THEN 'seq'
    END AS bad_field,
    CASE
        WHEN t.kind = 'bad'             THEN '不是有效的 JSON 对象（行被截断或格式错误） (invalid or truncated JSON)'
        WHEN t.conversation_id IS NULL  THEN '缺少必填字段 conversation_id (missing)'
        WHEN t.ts_s IS NULL             THEN '缺少必填字段 ts (missing)'
        WHEN t.ts IS NULL               THEN '无法解析的时间 (unparseable time): ' || t.ts_s
        WHEN NOT ts_in_range(t.ts)      THEN '时间超出 2000–2100 年 (out of range): ' || t.ts_s
        WHEN t.role_s IS NULL           THEN '缺少必填字段 role (missing)'
        WHEN t.role IS NULL             THEN '未知角色 (unknown role): ' || t.role_s
        WHEN t.role = 'agent' AND t.agent_id IS NULL THEN '客服消息缺少 agent_id (agent message without agent_id)'
        WHEN t.seq_s IS NOT NULL AND (NOT regexp_full_match(t.seq_s, '\+?[0-9]+(\.0+)?') OR t.source_seq < 0)
             THEN 'seq 不是非负整数 (not a non-negative integer): ' || t.seq_s
        WHEN t.seq_s IS NOT NULL AND (t.source_seq IS NULL OR t.source_seq > 9007199254740991)
             THEN 'seq 超出范围 (out of range 0 … 2^53-1): ' || t.seq_s
    END AS bad_reason
FROM typed t
);
