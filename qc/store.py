"""The DuckDB store: one module owns the schema, versioned with forward migrations.

Two ways in:
* `connect()` — writers (ingest, inspect, reviews): creates the file (and its folder) and
  applies every migration not yet applied, in order, each inside a transaction.
* `open_reader()` — readers (findings, explain, scorecard, quarantine, eval on a db): the
  file must exist and be a qc database; it is opened read-only, so a reader never changes
  a file, works on a read-only file, and runs beside other readers.

DuckDB lets one process write a file, and no other process open it meanwhile; both ways
in retry briefly while another `qc` holds the lock, then say so (DatabaseBusy) instead of
a traceback. Never edit a released migration: append a new one.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .errors import QCError
from .paths import default_db_path


class DatabaseBusy(QCError):
    """Another process (an inspection, an ingest) holds the database file's lock."""


class DatabaseMissing(QCError):
    """A reader was pointed at a file that does not exist (only `qc ingest` creates one)."""


class NotAQCDatabase(QCError):
    """The file is not a qc database (foreign DuckDB, SQLite, corrupt, newer schema)."""

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
    (
        5,
        "review_latest view",
        """
        -- one row per reviewed finding: its latest decision (ties on decided_at broken by
        -- insertion order). Every reader of review state — qc findings, explain, the
        -- scorecard, the console, reports — reads this view, never `reviews` directly.
        CREATE VIEW review_latest AS
        SELECT finding_id,
               arg_max(decision, (decided_at, rowid))  AS decision,
               arg_max(reviewer, (decided_at, rowid))  AS reviewer,
               arg_max(reason, (decided_at, rowid))    AS reason,
               max(decided_at)                         AS decided_at,
               count(*)                                AS decisions
        FROM reviews GROUP BY finding_id;
        """,
    ),
    (
        6,
        "64-bit seq, pending_refresh, run status",
        """
        -- Exports that number messages with a global message id overflow 32 bits.
        ALTER TABLE messages ALTER COLUMN seq TYPE BIGINT;
        ALTER TABLE findings ALTER COLUMN message_seq TYPE BIGINT;
        -- one row per conversation whose messages changed and whose derived row (and seq
        -- numbering) is not yet rebuilt. Written in the same transaction as the messages,
        -- cleared in the one that rebuilds them: a run killed in between leaves the list,
        -- and the next ingest (or qc doctor) finishes the work.
        CREATE TABLE pending_refresh (
            conversation_id VARCHAR PRIMARY KEY,
            ingest_run      BIGINT NOT NULL,
            late            BOOLEAN NOT NULL,  -- the conversation existed before this run
            renumber        BOOLEAN NOT NULL   -- late, or rows with and without a source seq
        );
        -- running | finished | interrupted (a later run found it unfinished: killed)
        ALTER TABLE ingest_runs ADD COLUMN status VARCHAR;
        ALTER TABLE inspect_runs ADD COLUMN status VARCHAR;
        UPDATE ingest_runs SET status = CASE WHEN finished_at IS NULL THEN 'interrupted' ELSE 'finished' END;
        UPDATE inspect_runs SET status = CASE WHEN finished_at IS NULL THEN 'interrupted' ELSE 'finished' END;
        """,
    ),
    (
        7,
        "runs (unattended flow runs and their summaries)",
        """
        -- one row per unattended run (qc-nightly, qc-shift, qc-monthly): what each stage did,
        -- findings per rule, duration, warnings (JSON). Written at the end of the run.
        CREATE TABLE runs (
            run_id        BIGINT PRIMARY KEY,
            flow          VARCHAR NOT NULL,
            started_at    TIMESTAMPTZ NOT NULL,
            finished_at   TIMESTAMPTZ NOT NULL,
            status        VARCHAR NOT NULL,   -- finished | finished_with_warnings
            summary       VARCHAR NOT NULL
        );
        """,
    ),
    (
        8,
        "sku (input contract, December 2026)",
        """
        -- the product a message / conversation is about (JD/Taobao exports carry it): after-sales
        -- problem statistics by product in the team report
        ALTER TABLE messages ADD COLUMN sku VARCHAR;
        ALTER TABLE conversations ADD COLUMN sku VARCHAR;   -- the most frequent sku of its messages
        """,
    ),
    (
        9,
        "reviews.decision_id (decisions journaled by the review console)",
        """
        -- The console and `qc review` write each decision first to the review journal (a SQLite
        -- file beside the database, qc/review.py), then here. decision_id is the journal's id:
        -- applying the journal twice (a run killed between the two writes) adds nothing.
        ALTER TABLE reviews ADD COLUMN decision_id VARCHAR;
        """,
    ),
    (
        10,
        "model_near_misses (classifier uncertainty, for the spot-check draw)",
        """
        -- one row per message whose model probability for a finding-raising label (complaint,
        -- bargain, rude) reached 0.5 but stayed under the rule's threshold: the chats a model was
        -- unsure about, which the console's 抽检 draws as risk picks. Replaced per inspected
        -- conversation, like the rule findings.
        CREATE TABLE model_near_misses (
            conversation_id VARCHAR NOT NULL,
            seq             BIGINT NOT NULL,
            label           VARCHAR NOT NULL,
            p               DOUBLE NOT NULL,
            threshold       DOUBLE NOT NULL,
            run_id          BIGINT
        );
        """,
    ),
    (
        11,
        "pending_refresh.ts_lo / ts_hi (a night's rebuild reads only its time span)",
        """
        -- The time span of every message of a listed conversation (the new ones and those
        -- already stored), so rebuilding the touched conversations reads messages of that span
        -- only, not the whole history (0.33 s of a small day's ingest into a 10M-message store).
        -- NULL: unknown (rows listed by qc doctor, by a repair, or before this version): the
        -- rebuild reads every message, as before. Re-created, not altered: DuckDB cannot add
        -- columns to a table with a primary key index; a killed run's rows are kept.
        CREATE TEMP TABLE pending_refresh_v10 AS SELECT * FROM pending_refresh;
        DROP TABLE pending_refresh;
        CREATE TABLE pending_refresh (
            conversation_id VARCHAR PRIMARY KEY,
            ingest_run      BIGINT NOT NULL,
            late            BOOLEAN NOT NULL,  -- the conversation existed before this run
            renumber        BOOLEAN NOT NULL,  -- late, or rows with and without a source seq
            ts_lo           TIMESTAMPTZ,       -- earliest message of the conversation (NULL: unknown)
            ts_hi           TIMESTAMPTZ        -- latest message of the conversation (NULL: unknown)
        );
        INSERT INTO pending_refresh SELECT conversation_id, ingest_run, late, renumber, NULL, NULL
        FROM pending_refresh_v10;
        DROP TABLE pending_refresh_v10;
        """,
    ),
]


LATEST = max(v for v, _, _ in MIGRATIONS)
# How long to wait for another process's lock before saying the database is busy. An
# inspection of a night's data takes seconds; a reader that waits a little more than that
# usually gets in.
LOCK_WAIT_S = float(os.environ.get("QC_LOCK_WAIT_S", "15"))


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower() and ("conflicting" in str(exc).lower() or "could not set" in str(exc).lower())


_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def _open(path: Path, read_only: bool, wait_s: float | None):
    wait_s = LOCK_WAIT_S if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            # No extension auto-loading: a foreign or corrupt file must never make DuckDB
            # download anything (only the package registries are reachable).
            return duckdb.connect(str(path), read_only=read_only, config=_CONFIG)
        except duckdb.IOException as exc:
            if _is_lock_error(exc):
                if time.monotonic() >= deadline:
                    raise DatabaseBusy(
                        f"{path}: 数据库正被另一个 qc 进程使用（可能正在质检或导入），请稍后再试 "
                        f"(the database is in use by another qc process — an inspection or ingest is running; "
                        f"waited {wait_s:.0f} s)") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            raise NotAQCDatabase(f"{path}: 无法作为 DuckDB 数据库打开 (cannot open as a DuckDB database): "
                                 f"{str(exc).splitlines()[0]}") from None
        except duckdb.ConnectionException as exc:
            if "different configuration" in str(exc):
                # This process already holds the file (a library caller, a test, with its
                # own settings): DuckDB shares that instance; connect to it as it is.
                for cfg in ({"read_only": False, "config": _CONFIG}, {}):
                    try:
                        return duckdb.connect(str(path), **cfg)
                    except duckdb.ConnectionException:
                        continue
                raise NotAQCDatabase(f"{path}: {str(exc).splitlines()[0]}") from None
            raise NotAQCDatabase(f"{path}: 无法作为 DuckDB 数据库打开 (cannot open as a DuckDB database): "
                                 f"{str(exc).splitlines()[0]}") from None
        except duckdb.Error as exc:
            raise NotAQCDatabase(f"{path}: 无法作为 DuckDB 数据库打开 (cannot open as a DuckDB database): "
                                 f"{str(exc).splitlines()[0]}") from None


# DuckDB's own default is 80 % of the machine's RAM, and it takes it: at 10M messages the
# month's scorecard SQL held 5.1 GB on a 23 GB machine. Every qc connection is capped
# (QC_MEMORY_LIMIT, e.g. "4GB", or "none" for DuckDB's default); DuckDB spills to disk above
# it. Measured at 10M: the scorecard at 2.2 GB peak in 20.8 s instead of 5.1 GB in 13.7 s under
# a 2 GB cap; under 1.3 GB (ninth session) 1.46 GB in 25.7 s against 2.16 GB in 23.4 s, so every
# command of the night stays under 2 GB at 10M; at 1M nothing reaches the cap (scorecard
# 2.06-2.19 vs 2.03-2.13 s). Ingest sets its own lower cap (qc/ingest.py), inspect its own.
MEMORY_LIMIT = "1300MB"


def _setup(con) -> None:
    # All instants are shown and computed in UTC; shop-local times live in *_local/day columns.
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB draws its own progress bar on stdout for a query over 2 s (a 10M-message month):
    # the commands have theirs, and the nightly logs must stay readable
    con.execute("SET enable_progress_bar = false")
    apply_memory_limit(con)


def apply_memory_limit(con) -> None:
    """The store's memory cap (QC_MEMORY_LIMIT, else MEMORY_LIMIT; "none" = DuckDB's own).
    Also what a command that lowered it for a while (inspect) puts back."""
    import os

    limit = os.environ.get("QC_MEMORY_LIMIT", MEMORY_LIMIT)
    if limit.lower() == "none":
        con.execute("RESET memory_limit")
        return
    try:
        con.execute("SET memory_limit = ?", [limit])
    except duckdb.Error as exc:
        raise QCError(f"QC_MEMORY_LIMIT={limit!r}: 不是有效的内存上限 (not a memory size such as 2GB): {exc}") from None


def connect(db: str | Path | None = None, read_only: bool = False, wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """A writer's connection (creates and migrates). `read_only=True` is `open_reader`."""
    if read_only:
        return open_reader(db, wait_s=wait_s)
    path = default_db_path(db)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, False, wait_s)
    try:
        _setup(con)
        migrate(con)
        if str(path) != ":memory:":
            apply_review_journal(con, path)
    except BaseException:
        con.close()
        raise
    return con


def apply_review_journal(con, path: Path) -> int:
    """Decisions made in the review console or by `qc review` while another process held
    this file wait in the review journal (qc/review.py): every writer applies them as it
    opens the database, so what it computes next (scores, the scorecard) counts them."""
    import sqlite3

    from .review import Journal

    journal = Journal.existing(path)
    if journal is None:
        return 0
    try:
        return journal.apply_pending(con)
    except sqlite3.Error as exc:
        raise QCError(f"{journal.path}: 复核日志无法读取 (the review journal cannot be read): {exc}") from None


def open_reader(db: str | Path | None = None, wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to an existing qc database, at the current schema."""
    path = default_db_path(db)
    if not path.exists():
        raise DatabaseMissing(f"{path}: 数据库文件不存在，请先导入数据 (database not found; create it with "
                              f"`qc ingest FILE --db {path}`)")
    if path.is_dir():
        raise DatabaseMissing(f"{path}: 是文件夹，不是数据库文件 (a folder, not a database file)")
    con = _open(path, True, wait_s)
    _setup(con)
    version = _read_version(con, path)
    if version < LATEST:
        # Ours but older: upgrade once with a writer, then read.
        con.close()
        connect(path, wait_s=wait_s).close()
        con = _open(path, True, wait_s)
        _setup(con)
    return con


def _read_version(con, path) -> int:
    has = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version' AND table_schema = 'main'"
    ).fetchall()[0][0]
    if not has:
        con.close()
        raise NotAQCDatabase(f"{path}: 不是 qc 数据库 (not a qc database: no schema_version table)")
    version = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]
    if version > LATEST:
        con.close()
        raise NotAQCDatabase(f"{path}: 数据库版本 {version} 比本程序新 (schema {version} is newer than this qc, {LATEST}); 请升级 qc")
    return version


@contextmanager
def transaction(con):
    """BEGIN … COMMIT, or ROLLBACK and re-raise on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def empty_table(con, name: str) -> None:
    """Remove every row of table `name`, inside the caller's transaction, as DROP and CREATE
    from the table's own DDL (duckdb_tables().sql: columns, keys, NOT NULL as migrated).
    Why not DELETE: DuckDB 2.0 commits a DELETE of a PRIMARY KEY table row by row in its
    index — 1.0–1.5 s for the 100k conversations a 1M-message ingest lists in pending_refresh,
    against nothing for a re-created table. Only for tables no view reads."""
    row = con.execute(
        "SELECT sql FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = ? AND NOT temporary", [name]).fetchone()
    if row is None:
        raise KeyError(f"no table {name!r}")
    con.execute(f'DROP TABLE "{name}"')
    con.execute(row[0])


def schema_version(con) -> int:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]


def migrate(con) -> int:
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    if tables and "schema_version" not in tables:
        # Someone else's DuckDB file: never add our tables to it.
        raise NotAQCDatabase(f"{con_path(con)}: 不是 qc 数据库，里面已有别的表 (not a qc database: it holds other tables "
                             f"{sorted(tables)[:5]}); 请用新的 --db 文件")
    current = schema_version(con)
    if current > LATEST:
        raise NotAQCDatabase(f"{con_path(con)}: 数据库版本 {current} 比本程序新 (schema newer than this qc, {LATEST})")
    for version, description, sql in MIGRATIONS:
        if version <= current:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)", [version, description])
    return schema_version(con)


def con_path(con) -> str:
    try:
        return con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    except Exception:  # pragma: no cover
        return "<database>"
