"""Threads that start an environment's services concurrently, every one of them joinable at teardown.

Why not a ``ThreadPoolExecutor``: Ctrl-C is raised in the main thread wherever it happens to be.
When that is inside ``executor.submit`` -- while ``Thread.start()`` waits for the new thread to
come up -- the thread runs but the executor never learned of it, so leaving the ``with`` block does
not wait for it.  It then started anvil after the environment had been torn down, and the anvil
outlived the run.  Here a thread is remembered *before* it is started, so :meth:`join` always
reaches every thread that may be starting something.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TypeVar

__all__ = ["StarterThreads"]

T = TypeVar("T")


class StarterThreads:
    def __init__(self, name: str) -> None:
        self._name = name
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def run_all(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``calls`` concurrently and return their results in order; the first error is raised
        once every call has ended (so nothing is still starting when the caller cleans up)."""
        futures: list[Future[T]] = []
        for index, call in enumerate(calls):
            future: Future[T] = Future()
            thread = threading.Thread(target=_run, args=(call, future), name=f"{self._name}-{index}", daemon=True)
            with self._lock:
                self._threads.append(thread)
            futures.append(future)
            thread.start()
        errors = [f.exception() for f in futures]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first
        return [f.result() for f in futures]

    def join(self, timeout: float | None = None) -> list[str]:
        """Wait for every thread ever started here; returns the names of any still running."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread.ident is not None:  # an interrupt may have come before it was started
                thread.join(timeout)
        return [t.name for t in threads if t.is_alive()]


def _run(call: Callable[[], T], future: Future[T]) -> None:
    try:
        future.set_result(call())
    except BaseException as error:  # handed to the caller, never lost in the thread
        future.set_exception(error)
