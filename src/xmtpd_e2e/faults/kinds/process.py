"""Faults on a service's processes: paused (SIGSTOP / the cgroup freezer), stopped, killed.

A pause is the process's own state: a restarted process is not paused, so the pause ends with a
restart.  A stop or kill *is* the service being down: healing it starts the service again on its
data (same identity, key and database).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.faults.capabilities import PAUSE, RESTART
from xmtpd_e2e.faults.controller import Piece
from xmtpd_e2e.faults.registry import FaultKind, FaultPlan, Param, Restart, register

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults

__all__ = ["Pause", "Kill", "Stop"]


@register
class Pause(FaultKind):
    name = "pause"
    description = "the service's processes frozen (SIGSTOP; docker pause), sockets open, until resumed"
    params = (Param("on", object, "the node, gateway, chain or validation service"),)
    roles = frozenset({"node", "gateway", "chain", "validation"})
    needs = frozenset({PAUSE})
    restart = Restart.ENDS
    stops_service = True

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        where = faults.participant(params["on"])
        service = faults.service_of(where)
        piece = Piece(f"{where.name}: SIGSTOP", service.pause, service.resume, where.name, restart=Restart.ENDS)
        return FaultPlan([piece], (where.name,), {})


class _Down(FaultKind):
    kill: bool
    params = (Param("on", object, "the node or gateway"),)
    roles = frozenset({"node", "gateway"})
    needs = frozenset({RESTART})
    restart = Restart.ENDS
    stops_service = True
    undo_at_teardown = False

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        handle = faults.handle(params["on"])
        piece = Piece(
            f"{handle.alias}: {'SIGKILL' if self.kill else 'stopped'}",
            lambda: handle.stop(kill=self.kill),
            handle.start,
            handle.alias,
            restart=Restart.ENDS,
        )
        return FaultPlan([piece], (handle.alias,), {})


@register
class Kill(_Down):
    name = "kill"
    description = "SIGKILL the service (a crash); healing starts it again on its data"
    kill = True


@register
class Stop(_Down):
    name = "stop"
    description = "stop the service gracefully; healing starts it again on its data"
    kill = False
