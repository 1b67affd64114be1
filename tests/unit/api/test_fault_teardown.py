"""At teardown a service a fault stopped is not started again only to be removed; other faults are undone."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from xmtpd_e2e.api.faults import EnvironmentFaults
from xmtpd_e2e.faults.controller import FaultController, Piece
from xmtpd_e2e.timeline import Timeline


def _heal(closing: bool) -> list[str]:
    env: Any = SimpleNamespace(_closed=closing)
    faults = EnvironmentFaults(env, FaultController(Timeline(), logging.getLogger("test")))
    undone: list[str] = []
    faults.controller.apply("kill", ("node-100",), {}, [Piece("k", lambda: None, lambda: undone.append("started"))])
    faults.controller.apply("partition", ("node-200",), {}, [Piece("p", lambda: None, lambda: undone.append("rules"))])
    faults.heal()
    assert not faults.controller.active()
    return undone


def test_teardown_undoes_rules_but_does_not_restart_a_killed_node() -> None:
    assert _heal(closing=True) == ["rules"]


def test_a_users_heal_starts_the_killed_node_again() -> None:
    assert sorted(_heal(closing=False)) == ["rules", "started"]
