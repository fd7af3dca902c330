"""The spool's one writer thread: group commit. Requests queue their delivery and wait; the thread writes
everything queued so far in one transaction (one fsync), then answers them all. Under a storm the batch
grows, so the cost of durability per delivery falls instead of the queue growing."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from bot.receiver.spool import Delivery, Rejected, Spool, Stored

MAX_BATCH = 512
_STOP = object()


class Writer:
    def __init__(self, path: Path, max_mb: int, rejected_keep: int, on_commit: Callable[[], None]) -> None:
        self._spool = Spool(path, max_mb)
        self._keep = rejected_keep
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self.healthy = True  # False after a failed write, True again after a successful one (readyz)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=10)
        self._spool.close()

    def add(self, delivery: Delivery) -> Future[Stored]:
        future: Future[Stored] = Future()
        self._queue.put((delivery, future))
        return future

    def reject(self, entry: Rejected) -> Future[None]:
        future: Future[None] = Future()
        self._queue.put((entry, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            items = [first]
            while len(items) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self._queue.put(_STOP)
                    break
                items.append(item)
            self._write(items)

    def _write(self, items: list[object]) -> None:
        adds = [i for i in items if isinstance(i, tuple) and isinstance(i[0], Delivery)]
        rejects = [i for i in items if isinstance(i, tuple) and isinstance(i[0], Rejected)]
        if adds:
            try:
                stored = self._spool.add_many([d for d, _ in adds])
            except Exception as exc:  # SpoolUnavailable and anything unexpected: every waiter learns it
                self.healthy = False
                for _, future in adds:
                    future.set_exception(exc)
            else:
                self.healthy = True
                for (_, future), result in zip(adds, stored, strict=True):
                    future.set_result(result)
                self._on_commit()
        if rejects:
            try:
                self._spool.reject_many([r for r, _ in rejects], self._keep)
            except Exception as exc:
                for _, future in rejects:
                    future.set_exception(exc)
            else:
                for _, future in rejects:
                    future.set_result(None)
