"""Faults on a node's or gateway's toxiproxy proxy: latency, bandwidth, resets, timeouts, disconnect.

Every node registers its proxy's address on chain, so peers' sync streams and gateways' publishes
to it cross the proxy; a gateway's clients reach it through its proxy.  A toxic sits on the
downstream direction: a toxic on node X degrades how others receive what X sends.  Per service,
not per link.  Toxiproxy runs apart from the service, so a toxic outlives the service's restart
with no window (its first connection crosses the toxic).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.capabilities import TOXIPROXY
from xmtpd_e2e.faults.controller import Piece
from xmtpd_e2e.faults.registry import FaultKind, FaultPlan, Param, register

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults

__all__ = ["Latency", "ProxyBandwidth", "ConnectionReset", "Timeout", "Disconnect"]

SERVICES = frozenset({"node", "gateway"})
ON = Param("on", object, "the node or gateway")


class _Toxic(FaultKind):
    """A toxic of type ``toxic`` named ``<proxy>_<suffix>``; its attributes from params."""

    toxic: str
    suffix: str
    attributes: Mapping[str, str]
    """toxiproxy attribute -> parameter name."""
    roles = SERVICES
    needs = frozenset({TOXIPROXY})
    exclusive = True

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        handle = faults.handle(params["on"])
        values = {}
        for attribute, param in self.attributes.items():
            value = int(params.get(param, 0) or 0)
            if value < 0:
                raise E2EError(f"{self.name}: {param} must not be negative, got {value}")
            values[attribute] = value
        chaos, proxy = handle.chaos, handle.proxy.name
        piece = Piece(
            f"{proxy}: toxiproxy {self.toxic} {values}",
            lambda: chaos.add_toxic(proxy, self.suffix, self.toxic, values),
            lambda: chaos.remove_toxic(proxy, self.suffix),
            handle.alias,
            present=lambda: chaos.has_toxic(proxy, self.suffix),
        )
        recorded = {param: values[attribute] for attribute, param in self.attributes.items()}
        return FaultPlan([piece], (handle.alias,), {**recorded, "via": "toxiproxy"})


@register
class Latency(_Toxic):
    name = "latency"
    description = "toxiproxy delays what the service's proxy sends back by latency_ms +- jitter_ms"
    params = (
        ON,
        Param("latency_ms", int, "added delay", draws=(200, 500, 1000, 2000)),
        Param("jitter_ms", int, "random spread", default=0),
    )
    toxic, suffix = "latency", "latency"
    attributes = {"latency": "latency_ms", "jitter": "jitter_ms"}


@register
class ProxyBandwidth(_Toxic):
    name = "proxy-bandwidth"
    description = "toxiproxy limits what the service's proxy sends back to kilobytes_per_second"
    params = (
        ON,
        Param("kilobytes_per_second", int, "the rate", draws=(1, 5, 20, 100)),
    )
    toxic, suffix = "bandwidth", "bandwidth"
    attributes = {"rate": "kilobytes_per_second"}


@register
class ConnectionReset(_Toxic):
    name = "reset"
    description = "toxiproxy resets connections through the service's proxy after timeout_ms"
    params = (ON, Param("timeout_ms", int, "when", draws=(0, 100, 1000)))
    toxic, suffix = "reset_peer", "reset"
    attributes = {"timeout": "timeout_ms"}


@register
class Timeout(_Toxic):
    name = "timeout"
    description = "toxiproxy stops all data through the proxy, closing after timeout_ms (0: never)"
    params = (ON, Param("timeout_ms", int, "when", draws=(0, 2000)))
    toxic, suffix = "timeout", "timeout"
    attributes = {"timeout": "timeout_ms"}


@register
class Disconnect(FaultKind):
    name = "disconnect"
    description = (
        "the service's proxy disabled: its listener and connections closed, peers and gateways cannot reach it"
    )
    params = (ON,)
    roles = SERVICES
    needs = frozenset({TOXIPROXY})
    exclusive = True

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        handle = faults.handle(params["on"])
        chaos, proxy = handle.chaos, handle.proxy.name
        piece = Piece(
            f"{proxy}: proxy disabled",
            lambda: chaos.set_enabled(proxy, False),
            lambda: chaos.set_enabled(proxy, True),
            handle.alias,
            present=lambda: not chaos.is_enabled(proxy),
        )
        return FaultPlan([piece], (handle.alias,), {"via": "toxiproxy"})
