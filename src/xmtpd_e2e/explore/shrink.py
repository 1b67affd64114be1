"""Shrinking: from a failing schedule to a smaller one that still fails the same way.

Greedy, biggest cuts first: drop every fault at once, then one fault at a time, the gateways, half
the duration, one node, the readers, the users (every user, one user, the later half of their
sends, one send), one publisher, smaller batches.  A cut keeps the users consistent: a user whose
node goes takes its sends with it, fewer than two users make no group, no gateway means no users.  Each candidate is a real run; the first
that still shows a violation of one of the original kinds becomes the new schedule and the search
starts over from it, until no candidate fails or the budget of runs is spent.  A failure that only
shows sometimes may survive a cut it did not need (shrinking never claims more than it saw).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from functools import partial

from xmtpd_e2e.explore.execute import Exploration
from xmtpd_e2e.explore.schedule import BATCH_SIZES, Schedule, node_alias
from xmtpd_e2e.explore.user_plan import UserSendSpec

__all__ = ["ShrinkStep", "ShrinkResult", "candidates", "shrink", "MIN_DURATION"]

MIN_DURATION = 10.0
log = logging.getLogger("xmtpd_e2e.explore.shrink")


@dataclass(frozen=True)
class ShrinkStep:
    description: str
    still_fails: bool
    status: str
    kinds: tuple[str, ...]
    run_id: str


@dataclass
class ShrinkResult:
    schedule: Schedule
    exploration: Exploration
    runs: int = 0
    steps: list[ShrinkStep] = field(default_factory=list)
    stopped: str | None = None
    """Why the search ended early (interrupted, a setup error), or None."""

    @property
    def accepted(self) -> list[str]:
        return [s.description for s in self.steps if s.still_fails]


def candidates(schedule: Schedule) -> Iterator[tuple[str, Schedule]]:
    """Smaller variants of ``schedule``, biggest cuts first."""
    if len(schedule.faults) > 1:
        yield "drop every fault", replace(schedule, faults=())
    for i in reversed(range(len(schedule.faults))):
        fault = schedule.faults[i]
        yield f"drop fault {fault.kind} on {fault.target} at {fault.start:g}s", schedule.without_fault(i)
    if schedule.cluster.gateways:
        yield "drop the gateways", schedule.without_gateways()
    if schedule.duration > MIN_DURATION:
        shorter = max(MIN_DURATION, round(schedule.duration / 2))
        yield f"shorten to {shorter:g}s", schedule.truncated(shorter)
    if len(schedule.cluster.nodes) > 1:
        for i in reversed(range(len(schedule.cluster.nodes))):
            yield f"drop {node_alias(i)}", schedule.without_node(i)
    if len(schedule.readers) > 1:
        yield "drop every reader", replace(schedule, readers=())
    for i in reversed(range(len(schedule.readers))):
        yield f"drop reader {schedule.readers[i].name}", schedule.without_reader(i)
    yield from _user_candidates(schedule)
    if len(schedule.publishers) > 1:
        for i in reversed(range(len(schedule.publishers))):
            yield f"drop publisher {schedule.publishers[i].name}", schedule.without_publisher(i)
    for i, publisher in enumerate(schedule.publishers):
        smaller = [b for b in BATCH_SIZES if b < publisher.batch_size]
        if smaller:
            yield f"publisher {publisher.name}: batches of {smaller[-1]}", schedule.with_batch_size(i, smaller[-1])


def _other(dropped: int, index: int, _: UserSendSpec) -> bool:
    return index != dropped


def _user_candidates(schedule: Schedule) -> Iterator[tuple[str, Schedule]]:
    """Fewer users (a group keeps at least two), then fewer sends: the later half, then each one."""
    if schedule.users:
        yield "drop every user", schedule.with_users(())
    if len(schedule.users) > 2:
        for i in reversed(range(len(schedule.users))):
            kept = schedule.users[:i] + schedule.users[i + 1 :]
            yield f"drop user {schedule.users[i].name}", schedule.with_users(kept)
    sends = schedule.user_sends
    if len(sends) > 1:
        half = len(sends) // 2
        yield f"drop the last {len(sends) - half} user sends", schedule.without_user_sends(lambda i, _: i < half)
    for i in reversed(range(len(sends))):
        yield f"drop {sends[i].user}'s send at {sends[i].at:g}s", schedule.without_user_sends(partial(_other, i))


def shrink(
    failing: Exploration,
    run: Callable[[Schedule], Exploration],
    *,
    budget: int,
    attempts: int = 1,
    kinds: Collection[str] = (),
) -> ShrinkResult:
    """Search for a smaller schedule than ``failing.schedule`` that ``run`` still finds failing.

    ``attempts``: runs of a candidate before it counts as passing, for failures that show only
    sometimes (a race); every run counts against ``budget``.  ``kinds``: the violation kinds a
    smaller schedule must still show (default: any kind the original showed).
    """
    assert failing.verdict is not None and not failing.verdict.ok, "shrink needs a failing exploration"
    wanted = set(kinds) or failing.verdict.kinds()
    result = ShrinkResult(failing.schedule, failing)
    improved = True
    while improved and result.runs < budget:
        improved = False
        for description, candidate in candidates(result.schedule):
            still_fails = False
            if not candidate.publishers and not candidate.user_sends:
                continue
            if result.runs >= budget:
                break
            for _ in range(attempts):
                if result.runs >= budget:
                    break
                result.runs += 1
                log.info("shrink run %d/%d: %s", result.runs, budget, description)
                attempt = run(candidate)
                kinds = attempt.verdict.kinds() if attempt.verdict is not None else set()
                still_fails = attempt.failed and bool(kinds & wanted)
                result.steps.append(
                    ShrinkStep(description, still_fails, attempt.status, tuple(sorted(kinds)), attempt.run_id)
                )
                if attempt.status in ("INTERRUPTED", "SETUP_ERROR"):
                    result.stopped = f"{attempt.status}: {attempt.error}"
                    return result
                if still_fails:
                    break
            if still_fails:
                result.schedule, result.exploration = candidate, attempt
                improved = True
                break
    return result
