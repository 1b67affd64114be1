"""One asyncio loop on its own thread per environment: libxmtp's bindings are async (uniffi
futures need a running loop), scenarios are plain synchronous code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from xmtpd_e2e.errors import E2EError

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """Runs coroutines on a private loop; :meth:`run` blocks the caller until one finishes."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def run(self, coroutine: Coroutine[Any, Any, T], *, timeout: float, what: str) -> T:
        """The coroutine's result; raises its exception, or E2EError after ``timeout`` seconds
        (the coroutine is cancelled then, so a hung RPC does not pile up behind the next call)."""
        if self._loop.is_closed():
            coroutine.close()
            raise E2EError(f"{what}: the users of this environment are closed")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise E2EError(f"{what} did not finish within {timeout:.0f} s") from None

    def close(self) -> None:
        """Stop the loop and its thread (pending work is cancelled)."""
        if self._loop.is_closed():
            return

        def cancel_all() -> None:
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.stop()

        self._loop.call_soon_threadsafe(cancel_all)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
