"""The spool's one writer thread: group commit. Requests queue their delivery and wait; the event loop hands
what its requests queued in one pass to the thread as one item (one wake-up of the thread, not one per
request); the thread writes everything handed over so far in one transaction (one fsync), then answers them
all with one wake-up of the event loop. Under a storm the batch grows, so the cost of durability per
delivery falls instead of the queue growing."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.receiver.spool import Delivery, Rejected, Spool, Stored

MAX_BATCH = 512
_STOP = object()


class Writer:
    def __init__(self, path: Path, max_mb: int, rejected_keep: int, on_commit: Callable[[], None],
                 checkpoints: bool = True) -> None:
        self._spool = Spool(path, max_mb, checkpoints=checkpoints)  # False: the forwarder checkpoints
        self._keep = rejected_keep
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()  # lists of (item, future), or _STOP
        self._outbox: list[tuple[object, asyncio.Future[Any]]] = []  # queued by the event loop, not handed over
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self.healthy = True  # False after a failed write, True again after a successful one (readyz)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=10)
        self._spool.close()

    async def add(self, delivery: Delivery) -> Stored:
        """Wait until the delivery is committed (or raise SpoolUnavailable)."""
        stored: Stored = await self._queued(delivery)
        return stored

    async def reject(self, entry: Rejected) -> None:
        await self._queued(entry)

    def _queued(self, item: Delivery | Rejected) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._outbox.append((item, future))
        if len(self._outbox) == 1:  # the first of this pass: hand over once the loop has run the others
            loop.call_soon(self._hand_over)
        return future

    def _hand_over(self) -> None:
        items, self._outbox = self._outbox, []
        self._queue.put(items)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, list)
            items = first
            while len(items) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._queue.put(_STOP)
                    break
                assert isinstance(more, list)
                items = items + more
            self._write(items)

    def _write(self, items: list[tuple[object, asyncio.Future[Any]]]) -> None:
        adds = [(d, f) for d, f in items if isinstance(d, Delivery)]
        rejects = [(r, f) for r, f in items if isinstance(r, Rejected)]
        answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        if adds:
            try:
                stored = self._spool.add_many([d for d, _ in adds])
            except Exception as exc:  # SpoolUnavailable and anything unexpected: every waiter learns it
                self.healthy = False
                answers += [(future, None, exc) for _, future in adds]
            else:
                self.healthy = True
                answers += [(future, result, None) for (_, future), result in zip(adds, stored, strict=True)]
                self._on_commit()
        if rejects:
            try:
                self._spool.reject_many([r for r, _ in rejects], self._keep)
            except Exception as exc:
                answers += [(future, None, exc) for _, future in rejects]
            else:
                answers += [(future, None, None) for _, future in rejects]
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for answer in answers:
            by_loop.setdefault(answer[0].get_loop(), []).append(answer)
        for loop, batch in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed (shutting down): nobody waits any more
                loop.call_soon_threadsafe(_resolve, batch)


def _resolve(answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in answers:
        if future.done():  # the request was cancelled (client gone): the row is committed all the same
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
