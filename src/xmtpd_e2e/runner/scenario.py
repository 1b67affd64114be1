"""The scenario API: what a test author writes.

A scenario is anything with ``name``, ``description`` and ``run(env)``.  The usual way to write
one is the :func:`scenario` decorator on a function taking the environment::

    @scenario("smoke", "Start 3 nodes + 1 gateway, publish 10 envelopes, verify replication",
              suites=("fast",), typical_seconds=40)
    def smoke(env: Environment) -> None:
        env.add_nodes(3)
        ...

A scenario may split off its set-up: ``setup=`` names a function that builds what the scenario
needs (typically its cluster) and runs before it.  Alone it changes nothing; under ``run
--parallel N`` the set-up runs before the scenario waits for its turn, so the next scenario's
cluster comes up while N others run (see :mod:`xmtpd_e2e.runner.slots`)::

    @scenario("chaos-x", "...", setup=lambda env: env.add_nodes(3))
    def chaos_x(env: Environment) -> None:
        node = env.nodes()[0]
        ...

Registration is explicit: the decorator adds the scenario to :data:`REGISTRY`.  The built-in
catalogue is the package :mod:`xmtpd_e2e.scenarios` (one module per scenario); a user's own
modules are loaded with ``--scenarios MODULE`` or the ``xmtpd_e2e.scenarios`` entry-point group.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment

__all__ = ["ScenarioInfo", "scenario", "Registry", "REGISTRY", "SUITES"]

SUITES = ("fast", "layers", "full")
"""``fast`` runs in every CI run; ``layers`` holds the faults below the network (database, chain,
Redis), each scenario under a minute; ``full`` is the whole catalogue (every scenario is in it)."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class ScenarioInfo:
    """A registered scenario with the metadata the runner and ``list`` use."""

    name: str
    description: str
    func: Callable[[Environment], None]
    suites: tuple[str, ...] = ("full",)
    typical_seconds: float = 60.0
    invariants_skipped: str | None = None
    """Why the global invariants are not checked after this scenario (None = they are)."""
    timeout_seconds: float | None = None
    """The scenario's own time budget; the runner uses it unless ``--timeout`` is given."""
    module: str = ""
    requires: tuple[str, ...] = ()
    """Services beyond the base cluster it needs (``runner.requirements``); the runner refuses it,
    saying why and how to fix it, in a run that cannot provide them."""
    setup: Callable[[Environment], object] | None = None
    """Builds what the scenario needs before it runs (module docstring); its result is ignored."""

    def set_up(self, env: Environment) -> None:
        if self.setup is not None:
            self.setup(env)

    def run(self, env: Environment) -> None:
        self.func(env)


class Registry:
    """Name -> scenario, in registration order (which is ``list`` and run order)."""

    def __init__(self) -> None:
        self._items: dict[str, ScenarioInfo] = {}

    def add(self, info: ScenarioInfo) -> ScenarioInfo:
        if not _NAME.match(info.name):
            raise ValueError(f"scenario name {info.name!r} must be lower-case words joined by '-'")
        existing = self._items.get(info.name)
        if existing is not None and existing.module != info.module:
            raise ValueError(f"scenario {info.name!r} is defined twice ({existing.module} and {info.module})")
        self._items[info.name] = info
        return info

    def get(self, name: str) -> ScenarioInfo | None:
        return self._items.get(name)

    def names(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[ScenarioInfo]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def in_suite(self, suite: str) -> list[ScenarioInfo]:
        return [s for s in self._items.values() if suite == "full" or suite in s.suites]


REGISTRY = Registry()


def scenario(
    name: str,
    description: str,
    *,
    suites: tuple[str, ...] = (),
    typical_seconds: float = 60.0,
    skip_invariants: str | None = None,
    timeout_seconds: float | None = None,
    registry: Registry | None = None,
    requires: tuple[str, ...] = (),
    setup: Callable[[Environment], object] | None = None,
) -> Callable[[Callable[[Environment], None]], ScenarioInfo]:
    """Register the decorated function as a scenario (see module docstring)."""
    from xmtpd_e2e.runner.requirements import KNOWN_REQUIREMENTS

    unknown = set(suites) - set(SUITES)
    if unknown:
        raise ValueError(f"unknown suite(s) {sorted(unknown)}; known: {SUITES}")
    unknown = set(requires) - set(KNOWN_REQUIREMENTS)
    if unknown:
        raise ValueError(f"unknown requirement(s) {sorted(unknown)}; known: {KNOWN_REQUIREMENTS}")

    def register(func: Callable[[Environment], None]) -> ScenarioInfo:
        info = ScenarioInfo(
            name=name,
            description=description,
            func=func,
            suites=tuple(dict.fromkeys((*suites, "full"))),
            typical_seconds=typical_seconds,
            invariants_skipped=skip_invariants,
            timeout_seconds=timeout_seconds,
            module=func.__module__,
            requires=tuple(requires),
            setup=setup,
        )
        return (registry if registry is not None else REGISTRY).add(info)

    return register
