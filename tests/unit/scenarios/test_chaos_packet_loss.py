"""chaos-packet-loss after the heal: converged within the budget, or the known stall recorded as a
finding with loss at the originators still failing the scenario."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from xmtpd_e2e.api.require import Require
from xmtpd_e2e.errors import CheckFailed
from xmtpd_e2e.scenarios.chaos_packet_loss import FINDING, RECOVERY_BUDGET_SECONDS, converge_or_record_stall
from xmtpd_e2e.timeline import Timeline


@dataclass(frozen=True)
class _Acknowledged:
    originator_node_id: int
    sequence_id: int


@dataclass
class _Node:
    id: int
    stored: set[tuple[int, int]]

    @property
    def alias(self) -> str:
        return f"node-{self.id}"

    def missing_envelopes(self, keys: set[tuple[int, int]]) -> set[tuple[int, int]]:
        return set(keys) - self.stored


@dataclass
class _Ledger:
    envelopes: list[_Acknowledged]

    def all(self) -> list[_Acknowledged]:
        return list(self.envelopes)


@dataclass
class _Env:
    """What the post-heal check reads of an environment whose replication has stalled or not."""

    nodes_stored: dict[int, set[tuple[int, int]]]
    acknowledged: list[_Acknowledged]
    stalled: bool
    timeline: Timeline = field(default_factory=Timeline)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("test.chaos-packet-loss"))
    waited_for: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.require = Require(self.log)
        self.published = _Ledger(self.acknowledged)

    def wait_for_replication(self, *, timeout: float) -> None:
        self.waited_for.append(timeout)
        if self.stalled:
            raise CheckFailed("node 200 is missing 3 of 30 published envelopes")

    def nodes(self) -> list[_Node]:
        return [_Node(node_id, stored) for node_id, stored in self.nodes_stored.items()]


def _cluster(*, node_300_lost: bool = False) -> tuple[dict[int, set[tuple[int, int]]], list[_Acknowledged]]:
    acknowledged = [_Acknowledged(node, seq) for node in (100, 200, 300) for seq in (1, 2)]
    stored = {node: {(node, 1), (node, 2)} for node in (100, 200, 300)}
    if node_300_lost:
        stored[300].discard((300, 2))
    return stored, acknowledged


def _findings(env: _Env) -> list[dict[str, Any]]:
    return [e.params for e in env.timeline.events("check") if e.name == "finding: recovery over budget"]


def test_a_converged_cluster_records_no_finding_and_waits_only_the_budget() -> None:
    stored, acknowledged = _cluster()
    env = _Env(stored, acknowledged, stalled=False)
    converge_or_record_stall(env, time.monotonic())  # type: ignore[arg-type]
    assert env.waited_for == [RECOVERY_BUDGET_SECONDS]
    assert _findings(env) == []


def test_a_stall_past_the_budget_is_recorded_as_the_finding_and_passes_when_nothing_was_lost() -> None:
    stored, acknowledged = _cluster()
    env = _Env(stored, acknowledged, stalled=True)
    converge_or_record_stall(env, time.monotonic())  # type: ignore[arg-type]
    assert env.waited_for == [RECOVERY_BUDGET_SECONDS], "no second, longer wait in the fast suite"
    [finding] = _findings(env)
    assert finding["finding"] == FINDING
    assert "node 200 is missing" in finding["lagging"]


def test_an_envelope_missing_on_the_node_that_acknowledged_it_fails_even_during_the_stall() -> None:
    stored, acknowledged = _cluster(node_300_lost=True)
    env = _Env(stored, acknowledged, stalled=True)
    with pytest.raises(CheckFailed, match="node-300 must hold every envelope it acknowledged"):
        converge_or_record_stall(env, time.monotonic())  # type: ignore[arg-type]
    assert len(_findings(env)) == 1
