"""Every fault the framework can inject, as one registry of kinds.

A *kind* is one module-level class: its name, its parameters (with the values explore may draw),
where it applies (service roles, or links between participants), what it needs from the runtime
(capabilities the runtime declares, see :mod:`xmtpd_e2e.faults.capabilities`), and how it acts:
:meth:`FaultKind.plan` turns parameters into *pieces* the
:class:`~xmtpd_e2e.faults.controller.FaultController` installs, heals and carries across a
restart of the service they act on.  The fault API (``env.partition``, ``node.pause`` ...), the
explorer's drawable kinds, the report and the contract tests are all built from this registry, so
a new fault is one module that registers its kind plus its contract test.

Why one registry: with faults spread over the API, the handles, toxiproxy's controller and the
explorer, a fault could be applied without a timeline span, escape ``env.heal()``, or be drawn
on a runtime that cannot apply it.  Here every kind goes through the same controller.
"""

from __future__ import annotations

import abc
import enum
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from xmtpd_e2e.errors import E2EError, SetupError

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.faults.capabilities import Capabilities
    from xmtpd_e2e.faults.controller import Piece

__all__ = [
    "FaultKind",
    "FaultPlan",
    "Param",
    "Restart",
    "register",
    "kind",
    "kinds",
    "drawable_kinds",
    "UnknownFaultKind",
    "FaultUnavailable",
]


class Restart(enum.Enum):
    """What a restart of the service a piece acts on does to the fault."""

    OUTLIVES = "outlives"
    """The fault is held outside the restarted process (a proxy's toxic, rules in a network
    namespace that outlives the process, rules on the peers' side): the restarted process's first
    packet meets it.  The controller checks it is still in place after the restart."""
    ENDS = "ends"
    """The fault is the process's own state (a pause): a new process does not have it."""


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: its name, type, meaning and the values explore draws from."""

    name: str
    type: type
    description: str
    draws: tuple[Any, ...] = ()
    """Values explore picks from (in this order, so a seed draws the same value); empty: the
    kind's :meth:`FaultKind.draw` supplies it."""
    default: Any = None


@dataclass(frozen=True)
class FaultPlan:
    """What applying one fault means: pieces to install, and how the fault is recorded."""

    pieces: Sequence[Piece]
    targets: tuple[str, ...]
    """Every service the fault acts on (aliases), for the timeline and the report's lanes."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """What the timeline records (already resolved: aliases, not handles)."""
    label: str = ""
    """How the report names the fault (``{node-300} | {node-100, node-200}``); default: the kind."""


class UnknownFaultKind(E2EError):
    """A fault kind name nobody registered."""


class FaultUnavailable(SetupError):
    """The fault needs something this runtime, kernel or machine does not offer."""


class FaultKind(abc.ABC):
    """One kind of fault (see module docstring).  Subclass, set the class attributes, implement
    :meth:`plan`, and decorate with :func:`register`."""

    name: ClassVar[str]
    """Unique, lower-case with dashes (``packet-loss``); the timeline's event name."""
    description: ClassVar[str]
    """One line: what really happens (the README's fault table is built from these)."""
    params: ClassVar[tuple[Param, ...]] = ()
    roles: ClassVar[frozenset[str]] = frozenset({"node"})
    """Service roles it may target: ``node``, ``gateway``, ``chain``, ``database``, ``redis``,
    ``clients``; ``link`` for a fault between two participants."""
    needs: ClassVar[frozenset[str]] = frozenset()
    """Capabilities the runtime must offer (:mod:`xmtpd_e2e.faults.capabilities`)."""
    restart: ClassVar[Restart] = Restart.OUTLIVES
    stops_service: ClassVar[bool] = False
    """Its target does not serve while the fault lasts (publishes to it fail by design)."""
    explore: ClassVar[bool] = True
    """Explore may draw it (on a node target: :meth:`draw` gives the parameters)."""
    adversarial: ClassVar[bool] = False
    """The target breaks the protocol on purpose (a misbehaving node).  Explore draws it only when
    named with ``--faults``: what it finds is about honest nodes' defences, and left in the default
    draw it would turn most seeds into reruns of the same known findings."""
    undo_at_teardown: ClassVar[bool] = True
    """False where undoing would be wasted on a service about to be removed (starting a killed node)."""
    exclusive: ClassVar[bool] = False
    """A second fault of this kind on the same targets replaces the first (a proxy holds one
    toxic of each type)."""

    @abc.abstractmethod
    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        """Resolve ``params`` against the environment into pieces; raise E2EError (a clear
        message, nothing applied) when they make no sense.  Must not change anything yet."""

    def draw(self, rng: random.Random, target: str, aliases: Sequence[str]) -> dict[str, Any]:
        """Parameters for one occurrence on node ``target`` (an alias), given every node alias,
        drawn from explore's generator.  Default: ``on=target`` and each drawable param."""
        drawn: dict[str, Any] = {"on": target}
        for param in self.params:
            if param.draws:
                drawn[param.name] = rng.choice(param.draws)
        return drawn

    def unavailable(self, capabilities: Capabilities) -> str | None:
        """Why this kind cannot act on a runtime with ``capabilities``; None when it can."""
        reasons = [capabilities.why_missing(need) for need in sorted(self.needs)]
        return "; ".join(reason for reason in reasons if reason is not None) or None


_REGISTRY: dict[str, FaultKind] = {}


def register(cls: type[FaultKind]) -> type[FaultKind]:
    """Class decorator: add the kind (one instance) to the registry."""
    if cls.name in _REGISTRY:
        raise ValueError(f"fault kind {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def _load() -> None:
    import xmtpd_e2e.faults.kinds  # noqa: F401  (registers every family)


def kind(name: str) -> FaultKind:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownFaultKind(f"unknown fault kind {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def kinds() -> list[FaultKind]:
    """Every registered kind, sorted by name (never by registration order)."""
    _load()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def drawable_kinds(
    capabilities: Capabilities, names: Iterable[str] | None = None
) -> tuple[list[FaultKind], dict[str, str]]:
    """The kinds explore may draw on a runtime with ``capabilities`` (of ``names``, default all
    explorable), sorted by name, and those left out with why."""
    chosen = kinds() if names is None else sorted((kind(n) for n in set(names)), key=lambda k: k.name)
    usable: list[FaultKind] = []
    left_out: dict[str, str] = {}
    for candidate in chosen:
        if not candidate.explore or "node" not in candidate.roles:
            left_out[candidate.name] = "not drawn by explore (it does not act on one node)"
            continue
        reason = candidate.unavailable(capabilities)
        if reason is None:
            usable.append(candidate)
        else:
            left_out[candidate.name] = reason
    return usable, left_out
