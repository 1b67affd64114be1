"""NodeHandle's envelope queries say what they return (with a stand-in for the node's database)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.errors import WaitTimeout


class GrowingDatabase:
    """Stores one more of ``keys`` each time it is read, up to ``limit``."""

    def __init__(self, keys: list[tuple[int, int]], limit: int) -> None:
        self._keys, self._limit, self._reads = keys, limit, 0

    def envelope_keys(self, *, client_only: bool = True) -> set[tuple[int, int]]:
        self._reads += 1
        return set(self._keys[: min(self._reads, self._limit)])


def node(database: Any) -> NodeHandle:
    unused: Any = None
    return NodeHandle(
        node_id=100,
        alias="node-100",
        key=unused,
        service=unused,
        proxy=unused,
        chaos=unused,
        chain=unused,
        observer=database,
        db_name="db",
        logger=logging.getLogger("test"),
    )


KEYS = [(100, 1), (100, 2), (200, 1)]


def test_has_envelopes_is_a_bool_that_is_false_while_any_is_missing() -> None:
    partial = node(GrowingDatabase(KEYS, limit=1))
    assert partial.has_envelopes(set(KEYS)) is False  # `assert node.has_envelopes(keys)` must fail here
    assert partial.missing_envelopes(KEYS) == {(100, 2), (200, 1)}
    complete = node(GrowingDatabase(KEYS, limit=1))
    assert complete.has_envelopes(KEYS[:1]) is True and complete.missing_envelopes(KEYS[:1]) == set()


def test_envelope_keys_is_public() -> None:
    handle = node(GrowingDatabase(KEYS, limit=3))
    assert handle.envelope_keys() == {(100, 1)}
    assert NodeHandle.envelope_keys.__doc__ and "originator" in NodeHandle.envelope_keys.__doc__


def test_wait_for_envelope_keys_waits_and_names_what_is_missing() -> None:
    node(GrowingDatabase(KEYS, limit=3)).wait_for_envelope_keys(KEYS, timeout=30)
    with pytest.raises(WaitTimeout, match=r"\(200, 1\)"):
        node(GrowingDatabase(KEYS, limit=2)).wait_for_envelope_keys(KEYS, timeout=0.5)
