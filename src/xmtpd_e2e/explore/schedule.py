"""A seeded exploration plan: the cluster, the workload and the fault schedule.

Everything here is pure: :func:`generate` draws a :class:`Schedule` from a seed and options with
its own ``random.Random``, so the same seed and options always give the same plan, and a plan
round-trips through JSON unchanged (that is what makes replay exact).  Times are seconds from the
moment the workload starts.  Nodes are referred to by alias (``node-100``); node ids follow the
order of ``cluster.nodes`` (100, 200, ...), because a fresh environment registers them in order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from xmtpd_e2e.explore.fault_kinds import default_kinds, fault_kind
from xmtpd_e2e.explore.readers import READER_KINDS, ReaderSpec
from xmtpd_e2e.explore.user_plan import (
    USER_NODE_ENV,
    UserSendSpec,
    UserSpec,
    draw_users,
    users_from_dict,
    users_to_dict,
)

__all__ = [
    "NodeSpec",
    "ClusterSpec",
    "Window",
    "PublisherSpec",
    "FaultSpec",
    "Schedule",
    "GenerationOptions",
    "generate",
    "node_alias",
    "BATCH_SIZES",
]

NODE_ID_STEP = 100
BATCH_SIZES = (1, 5, 10, 20)
STEADY_INTERVALS = (0.2, 0.5, 1.0)
QUIET_TAIL = 0.3
"""The last 30 % of the workload has no fault, so liveness is checked on a healthy cluster."""


def node_alias(index: int) -> str:
    return f"node-{(index + 1) * NODE_ID_STEP}"


@dataclass(frozen=True)
class NodeSpec:
    env: Mapping[str, str] = field(default_factory=dict)
    """Environment overrides for this node (e.g. ``XMTPD_SYNC_ENABLE=false``: a broken node)."""


@dataclass(frozen=True)
class ClusterSpec:
    nodes: tuple[NodeSpec, ...]
    gateways: int = 0

    @property
    def aliases(self) -> list[str]:
        return [node_alias(i) for i in range(len(self.nodes))]


@dataclass(frozen=True)
class Window:
    """A span in which a publisher sends batches, ``interval`` seconds apart (0 = back to back)."""

    start: float
    end: float
    interval: float


@dataclass(frozen=True)
class PublisherSpec:
    """One client publishing sequentially (one request in flight) to a node or a gateway."""

    name: str
    target: str
    """``node-<id>`` (direct, signing as its payer) or ``gateway-<index>``."""
    payer: int
    """Index of the payer key (direct publishers; a gateway pays for its clients itself)."""
    batch_size: int
    windows: tuple[Window, ...]

    @property
    def via_gateway(self) -> bool:
        return self.target.startswith("gateway-")


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    target: str
    start: float
    duration: float
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Schedule:
    seed: int
    duration: float
    cluster: ClusterSpec
    payers: int
    publishers: tuple[PublisherSpec, ...]
    faults: tuple[FaultSpec, ...]
    readers: tuple[ReaderSpec, ...] = ()
    """Readers of the nodes (queries and streams); a record without them replays without them."""
    users: tuple[UserSpec, ...] = ()
    """Real XMTP users, all in one group (:mod:`xmtpd_e2e.explore.user_plan`); none by default."""
    user_sends: tuple[UserSendSpec, ...] = ()
    """When each user sends a text to the group, in time order."""

    # -- JSON --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "duration": self.duration,
            "cluster": {
                "nodes": [{"alias": node_alias(i), "env": dict(n.env)} for i, n in enumerate(self.cluster.nodes)],
                "gateways": self.cluster.gateways,
            },
            "payers": self.payers,
            "publishers": [
                {
                    "name": p.name,
                    "target": p.target,
                    "payer": p.payer,
                    "batch_size": p.batch_size,
                    "windows": [[w.start, w.end, w.interval] for w in p.windows],
                }
                for p in self.publishers
            ],
            "faults": [
                {"kind": f.kind, "target": f.target, "start": f.start, "duration": f.duration, "params": dict(f.params)}
                for f in self.faults
            ],
            "readers": [r.to_dict() for r in self.readers],
            # Only a plan with users names them: a plan without is serialised as before users existed.
            **(users_to_dict(self.users, self.user_sends) if self.users or self.user_sends else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        cluster = data["cluster"]
        users, user_sends = users_from_dict(data)
        return cls(
            seed=int(data["seed"]),
            duration=float(data["duration"]),
            cluster=ClusterSpec(
                nodes=tuple(NodeSpec(dict(n.get("env", {}))) for n in cluster["nodes"]),
                gateways=int(cluster.get("gateways", 0)),
            ),
            payers=int(data.get("payers", 1)),
            publishers=tuple(
                PublisherSpec(
                    name=str(p["name"]),
                    target=str(p["target"]),
                    payer=int(p.get("payer", 0)),
                    batch_size=int(p["batch_size"]),
                    windows=tuple(Window(float(s), float(e), float(i)) for s, e, i in p["windows"]),
                )
                for p in data["publishers"]
            ),
            faults=tuple(
                FaultSpec(
                    str(f["kind"]), str(f["target"]), float(f["start"]), float(f["duration"]), dict(f.get("params", {}))
                )
                for f in data["faults"]
            ),
            readers=tuple(ReaderSpec.from_dict(dict(r)) for r in data.get("readers", [])),
            users=users,
            user_sends=user_sends,
        )

    # -- describing ----------------------------------------------------------------------------
    def size(self) -> tuple[int, int, int, int, int, int, int, float]:
        """What shrinking minimises, most important first."""
        envelopes = sum(p.batch_size * len(p.windows) for p in self.publishers)
        return (
            len(self.faults),
            len(self.cluster.nodes) + self.cluster.gateways,
            len(self.publishers),
            len(self.readers),
            len(self.users),
            envelopes,
            len(self.user_sends),
            self.duration,
        )

    def describe(self) -> list[str]:
        """One line per element, for humans (terminal output and generated scenarios)."""
        lines = [
            f"{len(self.cluster.nodes)} node(s), {self.cluster.gateways} gateway(s), "
            f"{self.payers} payer(s), {self.duration:g} s of workload"
        ]
        for i, node in enumerate(self.cluster.nodes):
            if node.env:
                lines.append(f"{node_alias(i)} runs with " + " ".join(f"{k}={v}" for k, v in node.env.items()))
        for p in self.publishers:
            spans = ", ".join(
                f"{w.start:g}-{w.end:g}s " + ("back to back" if w.interval == 0 else f"every {w.interval:g}s")
                for w in p.windows
            )
            lines.append(f"publisher {p.name} -> {p.target}, batches of {p.batch_size}: {spans}")
        for r in self.readers:
            lines.append(f"reader {r.name} ({r.kind}) <- {r.target}")
        for u in self.users:
            times = [f"{x.at:g}" for x in self.user_sends if x.user == u.name]
            shown = f" at {', '.join(times)}s" if times else ""
            lines.append(f"user {u.name} (real XMTP user on {u.node}, in the group): {len(times)} text(s){shown}")
        for f in self.faults:
            params = " ".join(f"{k}={v}" for k, v in f.params.items())
            lines.append(f"fault {f.kind} on {f.target} at {f.start:g}s for {f.duration:g}s {params}".rstrip())
        return lines

    # -- reductions (used by shrinking) ------------------------------------------------------------
    def without_fault(self, index: int) -> Schedule:
        return replace(self, faults=self.faults[:index] + self.faults[index + 1 :])

    def without_publisher(self, index: int) -> Schedule:
        return replace(self, publishers=self.publishers[:index] + self.publishers[index + 1 :])

    def without_node(self, index: int) -> Schedule:
        """The cluster minus one node; later nodes move down one id, and every reference with them."""
        nodes = self.cluster.nodes
        if len(nodes) <= 1:
            raise ValueError("a cluster needs at least one node")
        removed = node_alias(index)
        renamed = {node_alias(i): node_alias(i - 1) for i in range(index + 1, len(nodes))}
        publishers = tuple(
            replace(p, target=renamed.get(p.target, p.target)) for p in self.publishers if p.target != removed
        )
        faults = tuple(replace(f, target=renamed.get(f.target, f.target)) for f in self.faults if f.target != removed)
        readers = tuple(replace(r, target=renamed.get(r.target, r.target)) for r in self.readers if r.target != removed)
        users = tuple(replace(u, node=renamed.get(u.node, u.node)) for u in self.users if u.node != removed)
        smaller = replace(
            self,
            cluster=replace(self.cluster, nodes=nodes[:index] + nodes[index + 1 :]),
            publishers=publishers,
            faults=faults,
            readers=readers,
        )
        return smaller.with_users(users)

    def with_users(self, users: Sequence[UserSpec]) -> Schedule:
        """Only ``users`` (and their sends); fewer than two users make no group: none at all."""
        kept = tuple(users) if len(users) >= 2 else ()
        names = {u.name for u in kept}
        return replace(self, users=kept, user_sends=tuple(x for x in self.user_sends if x.user in names))

    def without_user_sends(self, keep: Callable[[int, UserSendSpec], bool]) -> Schedule:
        """The plan with only the sends ``keep(index, send)`` accepts (texts unchanged)."""
        return replace(self, user_sends=tuple(x for i, x in enumerate(self.user_sends) if keep(i, x)))

    def without_reader(self, index: int) -> Schedule:
        return replace(self, readers=self.readers[:index] + self.readers[index + 1 :])

    def without_gateways(self) -> Schedule:
        """No gateway, so no gateway publishers and no users (users write through a gateway)."""
        return replace(
            self,
            cluster=replace(self.cluster, gateways=0),
            publishers=tuple(p for p in self.publishers if not p.via_gateway),
            users=(),
            user_sends=(),
        )

    def truncated(self, duration: float) -> Schedule:
        """The first ``duration`` seconds only: later windows and faults cut or dropped."""
        publishers = []
        for p in self.publishers:
            windows = tuple(replace(w, end=min(w.end, duration)) for w in p.windows if w.start < duration)
            if windows:
                publishers.append(replace(p, windows=windows))
        faults = tuple(
            replace(f, duration=min(f.duration, duration - f.start)) for f in self.faults if f.start < duration
        )
        sends = tuple(x for x in self.user_sends if x.at < duration)
        return replace(self, duration=duration, publishers=tuple(publishers), faults=faults, user_sends=sends)

    def with_batch_size(self, index: int, batch_size: int) -> Schedule:
        publishers = list(self.publishers)
        publishers[index] = replace(publishers[index], batch_size=batch_size)
        return replace(self, publishers=tuple(publishers))

    def uses_payers(self) -> int:
        return max((p.payer for p in self.publishers if not p.via_gateway), default=0) + 1


@dataclass(frozen=True)
class GenerationOptions:
    duration: float = 60.0
    nodes: int | None = None
    """Fixed cluster size, or drawn from 2..4."""
    gateways: int | None = None
    """Fixed number of gateways, or drawn from 0..1."""
    fault_kinds: tuple[str, ...] = ()
    """Kinds to draw from; empty = every registered kind."""
    max_publishers: int = 8
    max_publishers_per_node: int | None = None
    """Upper bound on publishers sending into one node at once (gateway publishers count against
    every node, since the gateway picks the node).  None = unbounded."""
    node_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Node alias -> environment overrides."""
    faults_per_minute: float = 3.0
    readers: int | None = None
    """Readers of the nodes, or drawn from 1..3 (0: publishes only, as before reads were recorded)."""
    users: int = 0
    """Real XMTP users in one group, sending texts (:mod:`xmtpd_e2e.explore.user_plan`); 0: none,
    and the plan is exactly the one drawn before users existed."""


def _node_count(rng: random.Random, options: GenerationOptions) -> int:
    needed = max((int(alias.removeprefix("node-")) // NODE_ID_STEP for alias in options.node_env), default=1)
    count = options.nodes if options.nodes is not None else rng.randint(2, 4)
    return max(count, needed)


def _draw_targets(rng: random.Random, count: int, aliases: Sequence[str], gateways: int, cap: int | None) -> list[str]:
    """Each publisher's target; with a cap, no node receives more than ``cap`` publishers.

    Load is uneven, as in production: one "hot" node is as likely a target as all others together.
    """
    load = dict.fromkeys(aliases, 0)
    hot = rng.choice(list(aliases))
    targets: list[str] = []
    for _ in range(count):
        if gateways and rng.random() < 0.25 and (cap is None or all(v < cap for v in load.values())):
            targets.append(f"gateway-{rng.randrange(gateways)}")
            for alias in load:
                load[alias] += 1
            continue
        free = [a for a in aliases if cap is None or load[a] < cap]
        if not free:
            break
        alias = rng.choices(free, weights=[max(1, len(free) - 1) if a == hot else 1 for a in free])[0]
        load[alias] += 1
        targets.append(alias)
    return targets


def _draw_windows(rng: random.Random, duration: float, bursts: Iterable[tuple[float, float]]) -> tuple[Window, ...]:
    """A steady background window (most publishers) and the bursts this publisher joins."""
    windows: list[Window] = []
    joined: list[tuple[float, float]] = []
    for start, end in sorted(b for b in bursts if rng.random() < 0.7):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))  # overlapping bursts: one window
        else:
            joined.append((start, end))
    steady = rng.random() < 0.6 or not joined
    if steady:
        interval = rng.choice(STEADY_INTERVALS)
        cursor = 0.0
        for start, end in joined:
            if start > cursor:
                windows.append(Window(round(cursor, 1), start, interval))
            cursor = max(cursor, end)
        if cursor < duration:
            windows.append(Window(round(cursor, 1), duration, interval))
    windows.extend(Window(start, end, 0.0) for start, end in joined)
    return tuple(sorted(windows, key=lambda w: w.start))


def _draw_faults(rng: random.Random, options: GenerationOptions, aliases: Sequence[str]) -> tuple[FaultSpec, ...]:
    # Sorted, so the plan does not depend on the order kinds were registered or named in.
    kinds = sorted(set(options.fault_kinds)) or default_kinds()
    for name in kinds:
        fault_kind(name)  # unknown names fail here, before anything runs
    if not kinds or options.faults_per_minute <= 0:
        return ()
    last_end = options.duration * (1 - QUIET_TAIL)
    wanted = rng.randint(1, max(1, round(options.faults_per_minute * options.duration / 60)))
    faults: list[FaultSpec] = []
    for _ in range(wanted * 3):  # overlapping draws on one target are dropped
        if len(faults) >= wanted or last_end < 5:
            break
        start = round(rng.uniform(3.0, max(3.0, last_end - 3.0)), 1)
        length = round(rng.uniform(3.0, min(20.0, last_end - start)), 1)
        if length < 1:
            continue
        target = rng.choice(list(aliases))
        kind = rng.choice(kinds)
        candidate = FaultSpec(kind, target, start, length, fault_kind(kind).draw(rng, target, aliases))
        if any(f.target == target and f.start < candidate.end and candidate.start < f.end for f in faults):
            continue
        faults.append(candidate)
    return tuple(sorted(faults, key=lambda f: f.start))


def generate(seed: int, options: GenerationOptions) -> Schedule:
    """The plan for ``seed`` (see module docstring)."""
    if options.duration < 5:
        raise ValueError("an exploration needs at least 5 seconds of workload")
    rng = random.Random(seed)
    node_count = _node_count(rng, options)
    gateways = options.gateways if options.gateways is not None else rng.randint(0, 1)
    nodes = tuple(NodeSpec(dict(options.node_env.get(node_alias(i), {}))) for i in range(node_count))
    aliases = [node_alias(i) for i in range(node_count)]
    duration = float(options.duration)

    bursts = []
    for _ in range(rng.randint(1, 3)):
        start = round(rng.uniform(0.0, max(0.0, duration - 5.0)), 1)
        bursts.append((start, round(min(duration, start + rng.uniform(3.0, 10.0)), 1)))
    targets = _draw_targets(
        rng, rng.randint(2, max(2, options.max_publishers)), aliases, gateways, options.max_publishers_per_node
    )
    payers = rng.randint(1, 3)
    publishers = tuple(
        PublisherSpec(
            f"p{i}", target, rng.randrange(payers), rng.choice(BATCH_SIZES), _draw_windows(rng, duration, bursts)
        )
        for i, target in enumerate(targets)
    )
    faults = _draw_faults(rng, options, aliases)
    readers = _draw_readers(random.Random(f"{seed}/readers"), options, aliases)
    schedule = Schedule(seed, duration, ClusterSpec(nodes, gateways), payers, publishers, faults, readers)
    schedule = replace(schedule, payers=schedule.uses_payers())
    return _with_drawn_users(schedule, options) if options.users else schedule


def _with_drawn_users(schedule: Schedule, options: GenerationOptions) -> Schedule:
    """The seed's plan plus users (see :mod:`xmtpd_e2e.explore.user_plan`): a gateway if it had
    none and the originator-cache setting on every node the user did not configure otherwise."""
    if options.users < 2:
        raise ValueError("users make one group together: give at least 2 users (or 0 for none)")
    users, sends = draw_users(schedule.seed, options.users, schedule.cluster.aliases, schedule.duration)
    nodes = tuple(NodeSpec({**USER_NODE_ENV, **dict(n.env)}) for n in schedule.cluster.nodes)
    cluster = ClusterSpec(nodes, max(1, schedule.cluster.gateways))
    return replace(schedule, cluster=cluster, users=users, user_sends=sends)


def _draw_readers(rng: random.Random, options: GenerationOptions, aliases: Sequence[str]) -> tuple[ReaderSpec, ...]:
    """Readers come from their own generator (seeded from the seed), so adding them left every
    earlier seed's cluster, workload and faults as they were."""
    count = options.readers if options.readers is not None else rng.randint(1, 3)
    return tuple(
        ReaderSpec(f"r{i}", rng.choice(list(aliases)), rng.choice(READER_KINDS), rng.choice((0.2, 0.5, 1.0)))
        for i in range(count)
    )
