-- Helpers shared by the ingest SQL. Created as TEMP macros on each connection.
-- parse_ts: ISO-8601 with offset or Z -> that instant; epoch seconds (9-10 digits, optional
-- fraction) or milliseconds (12-13 digits); naive 'YYYY-MM-DD HH:MM[:SS]' or 'YYYY/MM/DD ...'
-- -> wall time in the shop's timezone `tz`. Returns NULL when unparseable (the caller quarantines).
CREATE OR REPLACE TEMP MACRO parse_ts(s, tz) AS
    CASE
        WHEN s IS NULL THEN NULL
        WHEN regexp_full_match(s, '\d{12,13}') THEN to_timestamp(s::BIGINT / 1000.0)
        WHEN regexp_full_match(s, '\d{9,10}(\.\d+)?') THEN to_timestamp(s::DOUBLE)
        WHEN regexp_matches(s, '(Z|z|[+-]\d{2}:?\d{2})$') AND regexp_matches(s, '^\d{4}-\d{2}-\d{2}')
            THEN try_cast(s AS TIMESTAMPTZ)
        ELSE timezone(tz, try_cast(replace(replace(s, '/', '-'), 'T', ' ') AS TIMESTAMP))
    END;
-- A timestamp outside these years is a data error (e.g. epoch 0, ms read as s), not a chat.
CREATE OR REPLACE TEMP MACRO ts_in_range(t) AS t BETWEEN TIMESTAMPTZ '2000-01-01 00:00:00+00' AND TIMESTAMPTZ '2100-01-01 00:00:00+00';

-- qtrim: trim(s) (spaces at either end), but only for values that have one. DuckDB's trim()
-- costs ~0.5 s per 1M long strings even when there is nothing to remove; this costs ~0.02 s.
CREATE OR REPLACE TEMP MACRO qtrim(s) AS
    CASE WHEN starts_with(s, ' ') OR ends_with(s, ' ') THEN trim(s) ELSE s END;
