"""The on-disk spool: SQLite in WAL mode, one row per accepted delivery, written before the 202.

States of a delivery: `pending` (owed to the forge), `forwarded` (sent), `coalesced` (sent as part of a
newer delivery of the same incident, `forwarded_as`), `dead` (the forward failed `attempts` times; back
to pending with `spool retry`). A forwarded row loses its body and keeps its content hash and PagerDuty
`X-Webhook-Id`, so a redelivery within DEDUP_SECONDS is a no-op. Payloads that will never be usable are
kept, redacted, in `rejected` (the newest `rejected_keep`).

Every write is one transaction; with `synchronous=FULL` a committed transaction survives kill -9 and
power loss, and one that did not commit leaves nothing.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config.loader import parse_json
from bot.errors import BotError, InputError

DEDUP_SECONDS = 7 * 24 * 3600.0
STATES = ("pending", "forwarded", "coalesced", "dead")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  webhook_id TEXT,
  content_hash TEXT NOT NULL UNIQUE,
  group_key TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BLOB,
  received_at REAL NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at REAL NOT NULL,
  last_error TEXT,
  forwarded_as INTEGER,
  forwarded_at REAL,
  UNIQUE (source, webhook_id)
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (state, received_at, id);
CREATE INDEX IF NOT EXISTS deliveries_group ON deliveries (source, group_key, state);
CREATE TABLE IF NOT EXISTS rejected (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  received_at REAL NOT NULL,
  reason TEXT NOT NULL,
  size INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  excerpt TEXT NOT NULL
);
"""


class SpoolUnavailable(BotError):
    """The spool cannot be written (disk full, over INCIDENT_BOT_SPOOL_MAX_MB, I/O error): answer 503."""


@dataclass(frozen=True)
class Delivery:
    """A verified delivery, ready to be spooled. `headers` holds only headers that matter (no credential)."""

    source: str
    webhook_id: str | None
    content_hash: str
    group_key: str
    headers: dict[str, str]
    body: bytes
    received_at: float


@dataclass(frozen=True)
class Rejected:
    source: str
    received_at: float
    reason: str
    size: int
    content_hash: str
    excerpt: str  # redacted


@dataclass(frozen=True)
class Stored:
    id: int
    duplicate: bool  # an earlier delivery with the same X-Webhook-Id or content: nothing was written


@dataclass(frozen=True)
class Batch:
    """What the worker forwards: the newest pending delivery of one incident and source, for all of them."""

    source: str
    group_key: str
    id: int
    body: bytes
    headers: dict[str, str]
    members: tuple[int, ...]  # every pending delivery of the group, `id` included
    attempts: int
    oldest_received_at: float


@dataclass(frozen=True)
class Row:
    id: str
    state: str
    source: str
    received_at: float
    attempts: int
    group_key: str
    error: str


class Spool:
    """One connection (thread-safe through a lock); open one per thread that writes a lot."""

    def __init__(self, path: Path, max_mb: int = 512, *, create: bool = True, checkpoints: bool = True,
                 durable: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise InputError(str(self.path), "", "no spool here (set INCIDENT_BOT_SPOOL)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before it returns (the writer's: the 202 waits for it). The forwarder's
            # connection (durable=False) only records what the forge already has; with NORMAL its commits
            # skip the fsync, survive kill -9 all the same, and a power loss can undo the last of them, which
            # forwards those again: the forge makes that a no-op (https://www.sqlite.org/pragma.html#pragma_synchronous)
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.execute("PRAGMA busy_timeout=10000")
            page = int(self._db.execute("PRAGMA page_size").fetchone()[0])
            self._db.execute(f"PRAGMA max_page_count={max(16, max_mb * 1024 * 1024 // page)}")
            if not checkpoints:  # another connection calls checkpoint() (the writer's commits stay short)
                self._db.execute("PRAGMA wal_autocheckpoint=0")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise SpoolUnavailable(f"spool {self.path}: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------ intake

    def add_many(self, deliveries: Sequence[Delivery]) -> list[Stored]:
        """Insert in one transaction (one fsync for the batch); a redelivery returns the first one's id."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                out = [self._add(d) for d in deliveries]
                self._db.execute("COMMIT")
                return out
            except sqlite3.Error as exc:
                self._rollback()
                raise SpoolUnavailable(f"spool {self.path}: {exc}") from None

    def _add(self, d: Delivery) -> Stored:
        # a redelivery collides with UNIQUE content_hash or UNIQUE (source, webhook_id): nothing is written
        # (a NULL webhook_id never collides); one statement for the common case, a new delivery
        cursor = self._db.execute(
            "INSERT INTO deliveries (source, webhook_id, content_hash, group_key, headers, body, received_at, "
            "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (d.source, d.webhook_id, d.content_hash, d.group_key, json.dumps(d.headers, sort_keys=True), d.body,
             d.received_at, d.received_at))
        if cursor.rowcount == 1:
            return Stored(int(cursor.lastrowid or 0), False)
        found = self._db.execute(
            "SELECT id FROM deliveries WHERE content_hash = ? OR (source = ? AND webhook_id = ?)",
            (d.content_hash, d.source, d.webhook_id)).fetchone()
        return Stored(int(found[0]), True)

    def reject_many(self, entries: Sequence[Rejected], keep: int) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO rejected (source, received_at, reason, size, content_hash, excerpt) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(r.source, r.received_at, r.reason, r.size, r.content_hash, r.excerpt) for r in entries])
                self._db.execute("DELETE FROM rejected WHERE id <= (SELECT MAX(id) FROM rejected) - ?", (keep,))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise SpoolUnavailable(f"spool {self.path}: {exc}") from None

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")

    # ------------------------------------------------------------ the worker

    def next_batch(self, now: float, settle: float) -> Batch | None:
        """The group of the oldest due delivery received at least `settle` seconds ago, or None."""
        with self._lock:
            first = self._db.execute(
                "SELECT source, group_key FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ? "
                "AND received_at <= ? ORDER BY received_at, id LIMIT 1", (now, now - settle)).fetchone()
            if first is None:
                return None
            rows = self._db.execute(
                "SELECT id, attempts, received_at FROM deliveries "
                "WHERE state = 'pending' AND source = ? AND group_key = ? ORDER BY id", first).fetchall()
            body, headers = self._db.execute("SELECT body, headers FROM deliveries WHERE id = ?",
                                             (rows[-1][0],)).fetchone()  # only the newest is sent
        return Batch(source=first[0], group_key=first[1], id=int(rows[-1][0]), body=bytes(body),
                     headers=parse_json(headers, "spool headers"), members=tuple(int(r[0]) for r in rows),
                     attempts=max(int(r[1]) for r in rows), oldest_received_at=min(float(r[2]) for r in rows))

    def settling(self, now: float, settle: float) -> float | None:
        """Seconds until the oldest pending delivery has waited `settle`, while it has not; else None."""
        with self._lock:
            row = self._db.execute("SELECT received_at FROM deliveries WHERE state = 'pending' "
                                   "ORDER BY received_at, id LIMIT 1").fetchone()
        wait = None if row is None else float(row[0]) + settle - now
        return wait if wait is not None and wait > 0 else None

    def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database file without waiting for the writer (a
        PASSIVE checkpoint, https://www.sqlite.org/wal.html#checkpointing), so the WAL stays short."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def forwarded(self, batch: Batch, now: float) -> None:
        """The forge has it: bodies go, hashes and ids stay for deduplication."""
        marks = ",".join("?" * len(batch.members))
        self._write(
            f"UPDATE deliveries SET state = CASE WHEN id = ? THEN 'forwarded' ELSE 'coalesced' END, "  # noqa: S608
            f"forwarded_as = ?, forwarded_at = ?, body = NULL, last_error = NULL WHERE id IN ({marks})",
            (batch.id, batch.id, now, *batch.members))

    def failed(self, batch: Batch, error: str, now: float, retry_at: float, dead: bool) -> None:
        marks = ",".join("?" * len(batch.members))
        self._write(
            f"UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "  # noqa: S608
            f"state = ? WHERE id IN ({marks}) AND state = 'pending'",
            (error[:300], retry_at, "dead" if dead else "pending", *batch.members))

    def prune(self, now: float) -> None:
        """Forget forwarded deliveries older than the deduplication window."""
        self._write("DELETE FROM deliveries WHERE state IN ('forwarded', 'coalesced') AND forwarded_at < ?",
                    (now - DEDUP_SECONDS,))

    def _write(self, sql: str, params: Iterable[Any]) -> int:
        with self._lock:
            try:
                cursor = self._db.execute(sql, tuple(params))
                return int(cursor.rowcount)
            except sqlite3.Error as exc:
                raise SpoolUnavailable(f"spool {self.path}: {exc}") from None

    # ------------------------------------------------------------ inspection (metrics, spool commands)

    def depth_and_oldest(self) -> tuple[int, float | None]:
        with self._lock:
            count, oldest = self._db.execute(
                "SELECT COUNT(*), MIN(received_at) FROM deliveries WHERE state = 'pending'").fetchone()
        return int(count), (float(oldest) if oldest is not None else None)

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()
            rejected = self._db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0]
        out = {state: 0 for state in STATES}
        out.update({str(s): int(n) for s, n in rows})
        out["rejected"] = int(rejected)
        return out

    def rows(self, states: Sequence[str]) -> list[Row]:
        out: list[Row] = []
        with self._lock:
            wanted = [s for s in states if s in STATES]
            if wanted:
                marks = ",".join("?" * len(wanted))
                for r in self._db.execute(
                        f"SELECT id, state, source, received_at, attempts, group_key, COALESCE(last_error, '') "  # noqa: S608
                        f"FROM deliveries WHERE state IN ({marks}) ORDER BY id", wanted):
                    out.append(Row(str(r[0]), r[1], r[2], float(r[3]), int(r[4]), r[5], r[6]))
            if "rejected" in states:
                for r in self._db.execute("SELECT id, source, received_at, reason FROM rejected ORDER BY id"):
                    out.append(Row(f"r{r[0]}", "rejected", r[1], float(r[2]), 0, "", r[3]))
        return out

    def rejected_excerpt(self, rejected_id: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT excerpt FROM rejected WHERE id = ?", (rejected_id,)).fetchone()
        return None if row is None else str(row[0])

    def retry(self, delivery_id: int, now: float) -> bool:
        """A dead delivery back to pending, attempts reset; False if no dead delivery has this id."""
        return self._write("UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ? "
                           "WHERE id = ? AND state = 'dead'", (now, delivery_id)) == 1

    def drop(self, delivery_id: int) -> bool:
        """Delete a pending or dead delivery (it will never be forwarded); False if none has this id."""
        return self._write("DELETE FROM deliveries WHERE id = ? AND state IN ('pending', 'dead')",
                           (delivery_id,)) == 1

    def drop_rejected(self, rejected_id: int) -> bool:
        return self._write("DELETE FROM rejected WHERE id = ?", (rejected_id,)) == 1

    def state_of(self, delivery_id: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT state FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return None if row is None else str(row[0])
