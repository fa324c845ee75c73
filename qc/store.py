"""The DuckDB store: one module owns the schema, versioned with forward migrations.

Open a database with `connect()`; it creates the file (and its folder) and applies every
migration not yet applied, in order, inside a transaction. Never edit a released
migration: append a new one.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from .paths import default_db_path

# (version, description, SQL). Grain of each table is stated in its comment.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "messages, conversations, orders, quarantine, ingest_runs",
        """
        -- one row per chat message
        CREATE TABLE messages (
            msg_key        VARCHAR NOT NULL,   -- identity: hash of content + occurrence; makes ingest idempotent
            conversation_id VARCHAR NOT NULL,
            seq            INTEGER NOT NULL,   -- source seq when given, else by ts then file order
            source_seq     BIGINT,
            ts             TIMESTAMPTZ NOT NULL,
            ts_local       TIMESTAMP NOT NULL, -- wall time in the shop's timezone
            day            DATE NOT NULL,      -- shop-local calendar day
            role           VARCHAR NOT NULL,   -- customer | agent | bot | system
            agent_id       VARCHAR,
            customer_id    VARCHAR,
            shop_id        VARCHAR NOT NULL,
            queue          VARCHAR,            -- as given by the source (may be NULL)
            text           VARCHAR NOT NULL,
            msg_type       VARCHAR NOT NULL,
            source_file    VARCHAR NOT NULL,
            source_line    BIGINT NOT NULL,
            ingest_run     BIGINT NOT NULL,
            ingest_order   BIGINT NOT NULL     -- global arrival order: ties in ts keep file order
        );
        -- one row per conversation (derived from messages; rebuilt for touched conversations)
        CREATE TABLE conversations (
            conversation_id VARCHAR PRIMARY KEY,
            shop_id        VARCHAR NOT NULL,
            queue          VARCHAR NOT NULL,   -- presales | aftersales
            queue_source   VARCHAR NOT NULL,   -- data | inferred
            customer_id    VARCHAR,
            agents         VARCHAR[],
            first_agent_id VARCHAR,
            started_at     TIMESTAMPTZ NOT NULL,
            ended_at       TIMESTAMPTZ NOT NULL,
            day            DATE NOT NULL,      -- shop-local day of the first message
            n_messages     INTEGER NOT NULL,
            n_customer     INTEGER NOT NULL,
            n_agent        INTEGER NOT NULL,
            n_bot          INTEGER NOT NULL,
            needs_inspection BOOLEAN NOT NULL, -- new or late messages since the last inspection
            updated_run    BIGINT NOT NULL
        );
        -- one row per order
        CREATE TABLE orders (
            order_id       VARCHAR PRIMARY KEY,
            customer_id    VARCHAR NOT NULL,
            shop_id        VARCHAR NOT NULL,
            agent_id       VARCHAR,
            created_at     TIMESTAMPTZ NOT NULL,
            paid_at        TIMESTAMPTZ,
            amount         DECIMAL(14, 2) NOT NULL,
            source_file    VARCHAR NOT NULL,
            source_line    BIGINT NOT NULL,
            ingest_run     BIGINT NOT NULL
        );
        -- one row per rejected input row (file, line, reason); re-ingesting adds nothing twice
        CREATE TABLE quarantine (
            file           VARCHAR NOT NULL,
            file_sha256    VARCHAR NOT NULL,
            line           BIGINT NOT NULL,    -- 1-based line (CSV: physical line of the row; JSON array: item number)
            field          VARCHAR NOT NULL,
            reason         VARCHAR NOT NULL,
            raw            VARCHAR,
            ingest_run     BIGINT NOT NULL,
            PRIMARY KEY (file_sha256, line, field)
        );
        -- one row per `qc ingest` call (an audit log: it grows on purpose)
        CREATE TABLE ingest_runs (
            run_id         BIGINT PRIMARY KEY,
            started_at     TIMESTAMPTZ NOT NULL,
            finished_at    TIMESTAMPTZ,
            paths          VARCHAR[],
            files          INTEGER,
            read           BIGINT,
            ingested       BIGINT,
            duplicate      BIGINT,
            quarantined    BIGINT
        );
        """,
    ),
    (
        2,
        "findings, inspect_runs",
        """
        -- one row per finding (rule, model or manual). finding_id is deterministic
        -- (conversation, rule, message, key), so re-inspection replaces a finding with the
        -- same id and reviews stay attached to it.
        CREATE TABLE findings (
            finding_id     VARCHAR PRIMARY KEY,
            conversation_id VARCHAR NOT NULL,
            message_seq    INTEGER,            -- NULL for conversation-level findings
            agent_id       VARCHAR,
            shop_id        VARCHAR,
            day            DATE,
            rule_id        VARCHAR NOT NULL,
            rule_version   VARCHAR NOT NULL,
            severity       VARCHAR NOT NULL,   -- low | medium | high | redline
            category       VARCHAR NOT NULL,   -- 业务类 | 能力类 | 态度类
            subcategory    VARCHAR,            -- e.g. the lexicon category 硬拒议价
            span_start     INTEGER,            -- character offsets in the message text
            span_end       INTEGER,
            evidence       VARCHAR,            -- JSON
            explanation    VARCHAR NOT NULL,   -- human-readable, cites lexicon file:line / params / model
            source         VARCHAR NOT NULL,   -- rule | model | manual
            score          DOUBLE,
            run_id         BIGINT,
            created_at     TIMESTAMPTZ NOT NULL
        );
        -- one row per inspection run
        CREATE TABLE inspect_runs (
            run_id         BIGINT PRIMARY KEY,
            started_at     TIMESTAMPTZ NOT NULL,
            finished_at    TIMESTAMPTZ,
            scope          VARCHAR,
            conversations  BIGINT,
            messages       BIGINT,
            findings       BIGINT,
            stages         VARCHAR,            -- JSON: seconds per stage
            notes          VARCHAR
        );
        """,
    ),
    (
        3,
        "reviews",
        """
        -- one row per review decision on a finding (the review console writes these; the
        -- latest decision per finding counts). decision: confirmed | dismissed | appealed |
        -- appeal_upheld (finding withdrawn) | appeal_rejected (finding stands)
        CREATE TABLE reviews (
            finding_id     VARCHAR NOT NULL,
            decision       VARCHAR NOT NULL,
            reviewer       VARCHAR NOT NULL,
            reason         VARCHAR,
            decided_at     TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        4,
        "spot_checks",
        """
        -- one row per conversation drawn for a QC specialist's spot check (抽检): written by
        -- `qc spotcheck` (a seeded random draw) or the review console. A conversation with a
        -- reviewed finding also counts as sampled (see qc/sql/quality_scores.sql).
        CREATE TABLE spot_checks (
            conversation_id VARCHAR PRIMARY KEY,
            period          VARCHAR NOT NULL,
            drawn_by        VARCHAR NOT NULL,
            drawn_at        TIMESTAMPTZ NOT NULL
        );
        """,
    ),
]


def connect(db: str | Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = default_db_path(db)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    # All instants are shown and computed in UTC; shop-local times live in *_local/day columns.
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        migrate(con)
    return con


def schema_version(con) -> int:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]


def migrate(con) -> int:
    current = schema_version(con)
    for version, description, sql in MIGRATIONS:
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)", [version, description])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return schema_version(con)
