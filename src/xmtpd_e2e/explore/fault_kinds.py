"""The faults the explorer may draw: the fault registry's kinds, seen from a schedule.

Every entry is a kind of :mod:`xmtpd_e2e.faults.registry` that acts on one node: its parameters
are drawn from the schedule's random generator (pure, so the same seed gives the same schedule)
and it is applied through ``env.faults.apply``, so each one is a Fault on the timeline that
``env.heal()`` also ends.

A seed's plan does not depend on the machine: :func:`default_kinds` is every explorable kind but
the adversarial ones (a misbehaving node, drawn only when named), sorted by name, whatever the
runner's privileges or the registry's order.  Whether the runtime
can apply a planned kind is asked of the runtime when the run starts
(:func:`left_out_on`): those it cannot are skipped and recorded with the reason, never swapped for
others (which would change every later draw).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.faults import registry

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["FaultKind", "FAULT_KINDS", "register", "fault_kind", "node_of", "default_kinds", "left_out_on"]

Heal = Callable[[], None]

LEGACY_NAMES = {"loss": "packet-loss"}
"""Names older schedules used for kinds now named as the registry names them."""


@dataclass(frozen=True)
class FaultKind:
    name: str
    description: str
    draw: Callable[[random.Random, str, Sequence[str]], dict[str, Any]]
    """Parameters for one occurrence on a target node, given every node alias, drawn from the
    schedule's generator."""
    apply: Callable[[Environment, str, Mapping[str, Any]], Heal]
    """Inject the fault on the target (a node alias) and return what heals it."""
    stops_service: bool = False
    """The target is down while the fault lasts (its publishes fail by design)."""


class _Registered(Mapping[str, FaultKind]):
    """The registry's explorable kinds, sorted by name, plus any :func:`register`-ed here."""

    def __init__(self) -> None:
        self._extra: dict[str, FaultKind] = {}

    def _all(self) -> dict[str, FaultKind]:
        found = {k.name: _from_registry(k) for k in registry.kinds() if k.explore and "node" in k.roles}
        found.update(self._extra)
        return {name: found[name] for name in sorted(found)}

    def __getitem__(self, name: str) -> FaultKind:
        return self._all()[LEGACY_NAMES.get(name, name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and LEGACY_NAMES.get(name, name) in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


FAULT_KINDS = _Registered()


def register(kind: FaultKind) -> FaultKind:
    """Add an explorer-only kind (a test's); real faults belong in the fault registry."""
    if kind.name in FAULT_KINDS:
        raise ValueError(f"fault kind {kind.name!r} is registered twice")
    FAULT_KINDS._extra[kind.name] = kind
    return kind


def fault_kind(name: str) -> FaultKind:
    try:
        return FAULT_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown fault kind {name!r}; known: {', '.join(FAULT_KINDS)}") from None


def default_kinds() -> list[str]:
    """Kinds drawn when none are named: every explorable kind but the adversarial ones (a
    misbehaving node is drawn only when named), sorted (see module docstring)."""
    adversarial = {k.name for k in registry.kinds() if k.adversarial}
    return [name for name in FAULT_KINDS if name not in adversarial]


def left_out_on(env: Environment, names: Sequence[str]) -> dict[str, str]:
    """Of ``names``, the kinds ``env``'s runtime cannot apply, each with the runtime's reason."""
    capabilities = env.faults.capabilities()
    left_out: dict[str, str] = {}
    for name in sorted(set(names)):
        canonical = LEGACY_NAMES.get(name, name)
        try:
            reason = registry.kind(canonical).unavailable(capabilities)
        except registry.UnknownFaultKind:
            continue  # an explorer-only kind
        if reason is not None:
            left_out[name] = reason
    return left_out


def node_of(env: Environment, alias: str) -> NodeHandle:
    """The node handle for an alias such as ``node-200``."""
    return env.node(int(alias.removeprefix("node-")))


def _from_registry(kind: registry.FaultKind) -> FaultKind:
    def apply(env: Environment, target: str, params: Mapping[str, Any]) -> Heal:
        if kind.name == "bandwidth" and "kb_per_second" in params:  # drawn when it meant toxiproxy's
            legacy = {"on": target, "kilobytes_per_second": params["kb_per_second"]}
            return env.faults.apply("proxy-bandwidth", **legacy).heal
        return env.faults.apply(kind.name, **_arguments(kind, target, params)).heal

    return FaultKind(kind.name, kind.description, kind.draw, apply, stops_service=kind.stops_service)


def _arguments(kind: registry.FaultKind, target: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The kind's arguments from a schedule's params, filling in what schedules drawn before the
    registry left implicit (the target, a cut's ``peer``)."""
    arguments = dict(params)
    names = {param.name for param in kind.params}
    if "on" in names:
        arguments.setdefault("on", target)
    if kind.name == "partition":
        arguments.setdefault("groups", [[target]])
    if kind.name == "cut":
        arguments.setdefault("source", target)
        arguments.setdefault("destination", arguments.pop("peer", None) or "chain")
    return arguments
