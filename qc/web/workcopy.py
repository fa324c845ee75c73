"""The console's working copy of the database.

DuckDB lets one process write a file and no other process read it meanwhile, and the
nightly run writes while QC specialists review. So the console never reads the live file
during a request: it reads its own copy, made while nobody writes (holding the writer's
lock for the second or so the copy takes), and refreshed in the background when the live
file has changed. Decisions go to the review journal first (durable), then into the copy
(so the page shows them at once), then into the live file when it is free. A copy is
replaced, never changed under a reader: requests hold a reference to the copy they began
with, and a retired copy is closed and deleted when its last request ends.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .. import store
from ..review import Journal, write_entries

log = logging.getLogger("qc.web")


def _stamp(path: Path) -> tuple:
    out = []
    for p in (path, Path(str(path) + ".wal")):
        try:
            st = p.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


class _Copy:
    def __init__(self, path: Path):
        self.path = path
        self.con = duckdb.connect(str(path), config={"autoinstall_known_extensions": False,
                                                     "autoload_known_extensions": False})
        self.con.execute("SET TimeZone = 'UTC'")
        self.users = 0
        self.retired = False

    def close(self):
        try:
            self.con.close()
        finally:
            for p in (self.path, Path(str(self.path) + ".wal")):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass


class WorkCopy:
    def __init__(self, db: Path, journal: Journal, sync_s: float = 2.0):
        self.db = Path(db)
        self.journal = journal
        self.sync_s = sync_s
        self.dir = self.db.with_name(self.db.stem + ".console")
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._current: _Copy | None = None
        self._seen: tuple | None = None      # stamp of the live file the current copy reflects
        self._n = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_sync: float | None = None
        self.last_error: str | None = None
        self.copies = 0

    # ----------------------------------------------------------------- lifecycle

    def start(self, wait_s: float | None = None) -> None:
        """Make the first copy (waiting for a running writer up to wait_s), then sync in
        the background."""
        if self._current is None:
            self.first_copy(wait_s)
        self._thread = threading.Thread(target=self._loop, name="qc-web-sync", daemon=True)
        self._thread.start()

    def first_copy(self, wait_s: float | None = None) -> None:
        for old in self.dir.glob("work-*.duckdb*"):      # left by a console that was killed
            old.unlink(missing_ok=True)
        if not self.sync(force=True, wait_s=store.LOCK_WAIT_S if wait_s is None else wait_s):
            raise store.DatabaseBusy(f"{self.db}: 数据库正忙，无法建立控制台副本 (busy: could not make the console's copy)")

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        try:
            self.sync(wait_s=2)             # apply what is left before going
        except Exception:                   # noqa: BLE001 — shutting down; the next writer applies it
            pass
        with self._lock:
            if self._current:
                self._current.close()
                self._current = None

    def _loop(self) -> None:
        while not self._stop.wait(self.sync_s):
            try:
                self.sync()
                self.last_error = None
            except Exception as exc:        # noqa: BLE001 — keep serving from the copy we have
                self.last_error = str(exc).splitlines()[0]
                log.warning("sync failed: %s", self.last_error)

    # ----------------------------------------------------------------- reading

    @contextmanager
    def cursor(self):
        with self._lock:
            cp = self._current
            cp.users += 1
        try:
            cur = cp.con.cursor()
            try:
                yield cur
            finally:
                cur.close()
        finally:
            with self._lock:
                cp.users -= 1
                if cp.retired and cp.users == 0:
                    cp.close()

    def record(self, decisions=(), manual=(), spots=()) -> None:
        """Show journal entries in the current copy at once (they are already durable in
        the journal; the live file gets them at the next sync)."""
        with self._lock:
            write_entries(self._current.con, list(decisions), list(manual), list(spots))

    # ----------------------------------------------------------------- syncing

    def sync(self, force: bool = False, wait_s: float = 0) -> bool:
        """Apply the journal to the live file and, if someone else changed the file, take a
        fresh copy. False when the live file is busy (try again later)."""
        if not force and self._seen == _stamp(self.db) and not self.journal.has_pending():
            return True
        try:
            # store.connect applies the journal's pending entries as it opens the file
            con = store.connect(self.db, wait_s=wait_s)
        except store.DatabaseBusy:
            return False
        try:
            changed_by_others = force or self._changed_since_seen(con)
            con.execute("CHECKPOINT")
            if changed_by_others:
                self._n += 1
                tmp = self.dir / f"work-{os.getpid()}-{self._n}.duckdb"
                shutil.copyfile(self.db, tmp)
                wal = Path(str(self.db) + ".wal")
                if wal.exists():
                    shutil.copyfile(wal, Path(str(tmp) + ".wal"))
                new = _Copy(tmp)
                with self._lock:
                    # the copy holds every applied entry; what was decided while we copied is
                    # in the journal, not yet applied: replay only that (not the whole journal)
                    write_entries(new.con, *self.journal.pending())
                    old, self._current = self._current, new
                    if old is not None:
                        old.retired = True
                        if old.users == 0:
                            old.close()
                self.copies += 1
        finally:
            con.close()
        self._seen = _stamp(self.db)
        self.last_sync = time.time()
        return True

    def _changed_since_seen(self, con) -> bool:
        """Whether the live data differs from the copy beyond our own journal entries: the
        last ingest/inspect run ids and the findings count are compared with the copy's."""
        probe = ("SELECT (SELECT coalesce(max(run_id), 0) FROM ingest_runs), (SELECT coalesce(max(run_id), 0) FROM inspect_runs), "
                 "(SELECT count(*) FROM findings WHERE source <> 'manual'), (SELECT coalesce(max(run_id), 0) FROM runs), "
                 "(SELECT count(*) FROM reviews WHERE decision_id IS NULL), (SELECT count(*) FROM spot_checks)")
        live = con.execute(probe).fetchone()
        with self._lock:
            if self._current is None:
                return True
            mine = self._current.con.cursor().execute(probe).fetchone()
        return live != mine
