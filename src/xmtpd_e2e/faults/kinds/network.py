"""Network faults inside each service's own network namespace: iptables drops and tc shaping.

Rules are applied with the host's ``iptables``/``tc`` through ``nsenter`` (:mod:`..namespace`),
so an established stream stalls as in a real network failure.  Every piece acts in a namespace
that outlives the service's process where the runtime keeps one (local: a named namespace;
docker: the container's network held by a holder), so a restarted service's first packet meets
the rules; the controller checks that after each restart.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.capabilities import NAMESPACE_RULES, NETEM
from xmtpd_e2e.faults.controller import Piece
from xmtpd_e2e.faults.links import Participant, RuleTarget, both_ways, cut_flows, merge_targets, partition_flows
from xmtpd_e2e.faults.netfilter import DropRules, Flow, chain_name
from xmtpd_e2e.faults.registry import FaultKind, FaultPlan, Param, register
from xmtpd_e2e.faults.shaping import BandwidthLimit, NetemQdisc, interface_with_address

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults

__all__ = ["Partition", "Cut", "PacketLoss", "Bandwidth", "Duplication", "Reordering", "partition_label"]

LINKS = frozenset({"node", "gateway", "chain", "database", "clients", "validation", "link"})
SHAPED = frozenset({"node", "gateway", "chain", "validation"})
"""Services whose own interface can be shaped (each has a namespace of its own)."""
ON = Param("on", object, "the service")


def partition_label(groups: Sequence[Sequence[str]]) -> str:
    """``{node-300} | {gateway-0, node-100, node-200}``: the groups, each sorted."""
    return " | ".join("{" + ", ".join(sorted(group)) + "}" for group in groups)


def namespace_of(where: Participant) -> str:
    """The namespace holding ``where``'s faults; a clear error when it has none."""
    namespace = where.namespace()
    if namespace is None:
        raise E2EError(f"{where.name} is not running, so it has no network to fault")
    return str(namespace)


def _remove_if_present(where: Participant, remove: Callable[[str], None]) -> None:
    namespace = where.namespace()
    if namespace is not None:  # a service whose namespace went with it has no rules left
        remove(str(namespace))


def _present(where: Participant, check: Callable[[str], bool]) -> Callable[[], bool]:
    def present() -> bool:
        namespace = where.namespace()
        return namespace is not None and check(str(namespace))

    return present


def drop_pieces(faults: EnvironmentFaults, targets: Sequence[RuleTarget], probability: float = 1.0) -> list[Piece]:
    """One piece per namespace: its chains drop ``probability`` of the target's flows.  Where a
    target's flows are all its traffic, its name servers are spared (``name_servers``)."""
    pieces = []
    for target in targets:
        namespace_of(target.where)
        spared = _name_service(faults, target.where) if Flow() in target.flows else ()
        rules = DropRules(chain_name(faults.controller.next_id()), target.flows, probability, spared)
        pieces.append(_rules_piece(target.where, rules))
    return pieces


def _name_service(faults: EnvironmentFaults, where: Participant) -> tuple[Flow, ...]:
    try:
        servers = faults.service_of(where).name_servers()
    except E2EError:  # not a service of its own (the framework's clients, the host's database)
        return ()
    return tuple(Flow(ip, 53, protocol=protocol) for ip in servers for protocol in ("udp", "tcp"))


def _rules_piece(where: Participant, rules: DropRules) -> Piece:
    share = "all" if rules.probability >= 1 else f"{rules.probability:.0%}"
    return Piece(
        f"{where.name}: drop {share} of " + "; ".join(flow.describe() for flow in rules.flows),
        lambda: rules.install(namespace_of(where)),
        lambda: _remove_if_present(where, rules.remove),
        where.name,
        present=_present(where, rules.present),
    )


def _qdisc_piece(where: Participant, describe: str, qdisc: BandwidthLimit | NetemQdisc) -> Piece:
    return Piece(
        describe,
        lambda: qdisc.install(namespace_of(where)),
        lambda: _remove_if_present(where, qdisc.remove),
        where.name,
        present=_present(where, qdisc.present),
    )


def _interface(faults: EnvironmentFaults, where: Participant) -> str:
    return interface_with_address(namespace_of(where), faults.service_of(where).network_address())


def _positive_percent(percent: Any) -> float:
    value = float(percent)
    if not 0 < value <= 100:
        raise E2EError(f"a percentage must be in (0, 100], got {percent}")
    return value


@register
class Partition(FaultKind):
    name = "partition"
    description = "every packet between the groups dropped, both ways (iptables in each member's namespace)"
    params = (Param("groups", tuple, "groups of participants; nodes and gateways in none form one more group"),)
    roles = LINKS
    needs = frozenset({NAMESPACE_RULES})

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        named = [[faults.participant(ref) for ref in group] for group in params["groups"]]
        names = {p.name for group in named for p in group}
        rest = [p for p in faults.services() if p.name not in names]
        if rest:
            named.append(rest)
        targets = partition_flows(named)
        groups = [sorted(p.name for p in group) for group in named]
        affected = tuple(sorted({t.where.name for t in targets}))
        return FaultPlan(drop_pieces(faults, targets), affected, {"groups": groups}, partition_label(groups))

    def draw(self, rng: random.Random, target: str, aliases: Sequence[str]) -> dict[str, Any]:
        return {"groups": [[target]]}


@register
class Cut(FaultKind):
    name = "cut"
    description = "one-way: the source's connections to the destination stall, the other way works"
    params = (Param("source", object, "who can no longer reach"), Param("destination", object, "whom"))
    roles = LINKS
    needs = frozenset({NAMESPACE_RULES})

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        a, b = faults.participant(params["source"]), faults.participant(params["destination"])
        target = cut_flows(a, b)
        return FaultPlan(drop_pieces(faults, [target]), (target.where.name,), {"from": a.name, "to": b.name})

    def draw(self, rng: random.Random, target: str, aliases: Sequence[str]) -> dict[str, Any]:
        others = [alias for alias in aliases if alias != target]
        # A one-node cluster has no peer: cut the node's chain path instead.
        return {"source": target, "destination": rng.choice(others) if others else "chain"}


@register
class PacketLoss(FaultKind):
    name = "packet-loss"
    description = "a share of packets dropped at random each direction (iptables statistic), on a service or a link"
    params = (
        Param("percent", float, "share of packets dropped", draws=(10, 30, 50)),
        Param("on", object, "every packet of this participant's interface"),
        Param("between", tuple, "or only those between these two participants"),
    )
    roles = LINKS
    needs = frozenset({NAMESPACE_RULES})

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        percent = _positive_percent(params["percent"])
        on, between = params.get("on"), params.get("between")
        if (on is None) == (between is None):
            raise E2EError("packet loss needs exactly one of on=<participant> or between=(a, b)")
        if on is not None:
            where = faults.participant(on)
            targets = [RuleTarget(where, (Flow(),))]
            recorded: dict[str, Any] = {"percent": percent, "on": where.name}
        else:
            assert between is not None
            targets, names = _link_targets(faults, between)
            recorded = {"percent": percent, "between": names}
        affected = tuple(sorted({t.where.name for t in targets}))
        return FaultPlan(drop_pieces(faults, targets, percent / 100.0), affected, recorded)


def _link_targets(faults: EnvironmentFaults, between: Iterable[Any]) -> tuple[list[RuleTarget], list[str]]:
    pair = list(between)
    if len(pair) != 2:
        raise E2EError("between= takes exactly two participants")
    a, b = (faults.participant(ref) for ref in pair)
    return merge_targets(both_ways(a, b)), [a.name, b.name]


@register
class Bandwidth(FaultKind):
    name = "bandwidth"
    description = "tc tbf on the service's interface, out and (through an ifb device) in: per service"
    params = (
        ON,
        Param("kilobytes_per_second", int, "the rate each way", draws=(16, 64, 256)),
    )
    roles = SHAPED
    needs = frozenset({NAMESPACE_RULES})

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        rate = int(params["kilobytes_per_second"])
        if rate <= 0:
            raise E2EError(f"a bandwidth limit must be at least 1 KB/s, got {rate}")
        where = faults.participant(params["on"])
        limit = BandwidthLimit(_interface(faults, where), rate)
        piece = _qdisc_piece(where, f"{where.name}: tbf {rate} KB/s each way", limit)
        return FaultPlan([piece], (where.name,), {"kilobytes_per_second": rate})


def _netem_plan(
    faults: EnvironmentFaults, name: str, on: Any, options: tuple[str, ...], recorded: dict[str, Any]
) -> FaultPlan:
    where = faults.participant(on)
    qdisc = NetemQdisc(_interface(faults, where), options, f"packet {name}")
    piece = _qdisc_piece(where, f"{where.name}: netem {' '.join(options)}", qdisc)
    return FaultPlan([piece], (where.name,), recorded)


@register
class Duplication(FaultKind):
    name = "duplication"
    description = "netem duplicates a share of the service's outgoing packets"
    params = (ON, Param("percent", float, "share duplicated", draws=(5, 20)))
    roles = SHAPED
    needs = frozenset({NETEM})

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        percent = _positive_percent(params["percent"])
        return _netem_plan(faults, self.name, params["on"], ("duplicate", f"{percent}%"), {"percent": percent})


@register
class Reordering(FaultKind):
    name = "reordering"
    description = "netem sends a share of the service's packets at once, the others late (reordered)"
    params = (
        ON,
        Param("percent", float, "share sent at once", draws=(25, 50)),
        Param("delay_ms", int, "delay of the others", draws=(10, 50), default=10),
    )
    roles = SHAPED
    needs = frozenset({NETEM})

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        percent = _positive_percent(params["percent"])
        delay = int(params.get("delay_ms", 10))
        options = ("delay", f"{delay}ms", "reorder", f"{percent}%")
        return _netem_plan(faults, self.name, params["on"], options, {"percent": percent, "delay_ms": delay})
