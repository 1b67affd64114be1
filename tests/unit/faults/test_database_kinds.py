"""The database kinds: registered, described, and refusing bad parameters before acting."""

from __future__ import annotations

from typing import Any

import pytest

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.registry import Restart, kind


@pytest.mark.parametrize("name", ["database-refused", "database-slow", "database-disk-full", "database-crash"])
def test_each_database_kind_is_registered_and_outlives_a_node_restart(name: str) -> None:
    chosen = kind(name)
    assert chosen.description and chosen.restart is Restart.OUTLIVES


def test_only_the_crash_is_left_out_of_explore() -> None:
    assert not kind("database-crash").explore
    assert all(kind(name).explore for name in ("database-refused", "database-slow", "database-disk-full"))


class _NoEnvironment:
    """Anything the kind touches before validating would fail loudly."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the kind used {name} before checking its parameters")


def test_a_slow_path_needs_a_positive_latency() -> None:
    class Faults(_NoEnvironment):
        def handle(self, ref: object) -> Any:
            from xmtpd_e2e.api.node_handle import NodeHandle

            return NodeHandle.__new__(NodeHandle)

    with pytest.raises(E2EError, match="latency_ms must be a positive"):
        kind("database-slow").plan(Faults(), {"on": "node-100", "latency_ms": 0})  # type: ignore[arg-type]


def test_the_crash_needs_the_environments_own_server() -> None:
    class Env:
        durable_postgres = None

    class Faults(_NoEnvironment):
        env = Env()

    with pytest.raises(E2EError, match="use_durable_postgres"):
        kind("database-crash").plan(Faults(), {})  # type: ignore[arg-type]
