"""``env.require``: testify-style checks with messages that say what differed.

Each check raises :class:`~xmtpd_e2e.errors.CheckFailed` (reported as FAIL, not ERROR) and logs
what it verified, so a scenario's log reads as the list of facts it established.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Sized
from typing import Any, NoReturn, TypeVar

from xmtpd_e2e.errors import CheckFailed
from xmtpd_e2e.polling import wait_until

__all__ = ["Require"]

T = TypeVar("T")


def _message(msg: str, detail: str) -> str:
    return f"{msg}: {detail}" if msg else detail


class Require:
    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger

    def _ok(self, msg: str, detail: str) -> None:
        self._log.debug("check ok: %s", _message(msg, detail))

    def fail(self, msg: str) -> NoReturn:
        raise CheckFailed(msg)

    def true(self, value: object, msg: str = "") -> None:
        if not value:
            raise CheckFailed(_message(msg, f"expected true, got {value!r}"))
        self._ok(msg, "true")

    def false(self, value: object, msg: str = "") -> None:
        if value:
            raise CheckFailed(_message(msg, f"expected false, got {value!r}"))
        self._ok(msg, "false")

    def equal(self, actual: object, expected: object, msg: str = "") -> None:
        if actual != expected:
            raise CheckFailed(_message(msg, f"expected {expected!r}, got {actual!r}"))
        self._ok(msg, f"== {expected!r}")

    def not_equal(self, actual: object, unexpected: object, msg: str = "") -> None:
        if actual == unexpected:
            raise CheckFailed(_message(msg, f"expected anything but {unexpected!r}"))
        self._ok(msg, f"!= {unexpected!r}")

    def greater(self, actual: Any, bound: Any, msg: str = "") -> None:
        if not actual > bound:
            raise CheckFailed(_message(msg, f"expected > {bound!r}, got {actual!r}"))
        self._ok(msg, f"{actual!r} > {bound!r}")

    def greater_or_equal(self, actual: Any, bound: Any, msg: str = "") -> None:
        if not actual >= bound:
            raise CheckFailed(_message(msg, f"expected >= {bound!r}, got {actual!r}"))
        self._ok(msg, f"{actual!r} >= {bound!r}")

    def less(self, actual: Any, bound: Any, msg: str = "") -> None:
        if not actual < bound:
            raise CheckFailed(_message(msg, f"expected < {bound!r}, got {actual!r}"))
        self._ok(msg, f"{actual!r} < {bound!r}")

    def less_or_equal(self, actual: Any, bound: Any, msg: str = "") -> None:
        if not actual <= bound:
            raise CheckFailed(_message(msg, f"expected <= {bound!r}, got {actual!r}"))
        self._ok(msg, f"{actual!r} <= {bound!r}")

    def contains(self, container: Container[Any], item: object, msg: str = "") -> None:
        if item not in container:
            raise CheckFailed(_message(msg, f"{item!r} not found in {container!r}"))
        self._ok(msg, f"contains {item!r}")

    def length(self, collection: Sized, expected: int, msg: str = "") -> None:
        if len(collection) != expected:
            raise CheckFailed(
                _message(msg, f"expected length {expected}, got {len(collection)}: {collection!r}"[:2000])
            )
        self._ok(msg, f"length {expected}")

    def is_none(self, value: object, msg: str = "") -> None:
        if value is not None:
            raise CheckFailed(_message(msg, f"expected None, got {value!r}"))

    def not_none(self, value: object, msg: str = "") -> None:
        if value is None:
            raise CheckFailed(_message(msg, "expected a value, got None"))

    def no_error(self, error_or_call: BaseException | Callable[[], T] | None, msg: str = "") -> T | None:
        """Passes for ``None``; fails for an exception; for a callable, calls it and fails if it
        raises (returning its result otherwise)."""
        if error_or_call is None:
            return None
        if isinstance(error_or_call, BaseException):
            raise CheckFailed(_message(msg, f"unexpected error: {error_or_call}")) from error_or_call
        try:
            return error_or_call()
        except Exception as error:
            raise CheckFailed(_message(msg, f"unexpected error: {error}")) from error

    def eventually(
        self,
        probe: Callable[[], T],
        *,
        accept: Callable[[T], bool] = bool,
        timeout: float = 60.0,
        description: str = "condition",
        interval: float = 1.0,
        swallow: tuple[type[BaseException], ...] = (),
    ) -> T:
        """Poll ``probe`` until ``accept`` holds (truthy by default) and return its value."""
        value = wait_until(
            probe, accept, timeout=timeout, description=description, max_interval=interval, swallow=swallow
        )
        self._ok("", f"eventually {description}")
        return value
