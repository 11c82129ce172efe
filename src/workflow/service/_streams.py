"""A writer function (``write(out)``, as the library's exporters are) turned into the chunks of a
streaming response: it runs in a worker thread and hands its text over through a bounded queue,
so a large export is sent as it is read, in constant memory, and stops when the client leaves."""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import IO, Any

import anyio

_CHUNK = 64 * 1024
_DONE = object()


class _Gone(Exception):
    """The reader left: the writer stops at its next write."""


class _QueueText:
    """A text file whose writes become chunks on a queue (blocking while the queue is full)."""

    def __init__(self, chunks: queue.Queue[Any], stop: threading.Event) -> None:
        self.chunks = chunks
        self.stop = stop
        self.pending: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.pending.append(text)
        self.size += len(text)
        if self.size >= _CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if not self.pending:
            return
        chunk = "".join(self.pending).encode("utf-8")
        self.pending, self.size = [], 0
        while True:
            if self.stop.is_set():
                raise _Gone
            try:
                self.chunks.put(chunk, timeout=0.5)
                return
            except queue.Full:
                continue


async def stream_writer(write: Callable[[IO[str]], Any]) -> AsyncIterator[bytes]:
    """The chunks ``write`` produces; an error it raises after the first chunk ends the stream
    (the status line was sent already), one before it is raised to the error handlers."""
    chunks: queue.Queue[Any] = queue.Queue(maxsize=16)
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        out = _QueueText(chunks, stop)
        try:
            write(out)  # type: ignore[arg-type]  # a text file as far as write() looks
            out.flush()
        except _Gone:
            return
        except BaseException as exc:  # handed to the response's task below
            failure.append(exc)
        finally:
            while not stop.is_set():
                try:
                    chunks.put(_DONE, timeout=0.5)
                    break
                except queue.Full:
                    continue

    worker = threading.Thread(target=run, name="workflow-export", daemon=True)
    worker.start()
    try:
        while True:
            item = await anyio.to_thread.run_sync(chunks.get)
            if item is _DONE:
                break
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
