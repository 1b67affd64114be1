"""Running a schedule against a real environment, and one exploration through the runner.

:func:`execute_schedule` is what a scenario calls: it builds the cluster the schedule names, starts
one thread per publisher (and, with users, makes their group and one sending thread per user:
:mod:`xmtpd_e2e.explore.user_workload`), injects and heals the faults at their times (from the main thread, so
Ctrl-C and the scenario timeout interrupt it), then heals everything, waits for replication to
converge and reads every node's database.  :func:`explore_once` runs that as a scenario through
the runner, so an exploration gets the runner's crash-safe run state, signal handling, artifacts
and guaranteed teardown: explore leaves nothing behind either.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.client.envelopes import group_message_envelope
from xmtpd_e2e.client.errors import PublishError
from xmtpd_e2e.errors import CheckFailed, WaitTimeout
from xmtpd_e2e.explore.checker import CheckOptions, Verdict, Violation, check
from xmtpd_e2e.explore.fault_kinds import fault_kind, left_out_on
from xmtpd_e2e.explore.final_state import FinalState, read_node_state
from xmtpd_e2e.explore.history import History, HistoryRecorder
from xmtpd_e2e.explore.readers import ReaderThread
from xmtpd_e2e.explore.recovery import RecoveryMonitor
from xmtpd_e2e.explore.schedule import FaultSpec, PublisherSpec, Schedule
from xmtpd_e2e.explore.user_history import UsersHistory
from xmtpd_e2e.explore.user_workload import UserWorkload
from xmtpd_e2e.polling import wait_until

if TYPE_CHECKING:
    from xmtpd_e2e.api.client_handle import ClientHandle
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.config import RunConfig

__all__ = ["ExecutionOptions", "Exploration", "execute_schedule", "run_schedule", "explore_once"]

log = logging.getLogger("xmtpd_e2e.explore")
RECOVERY_GRACE = 5.0
"""After convergence, how long recoveries still open are probed before the run ends."""
ERROR_PAUSE = 0.5
"""A publisher waits this long after an error before its next request (no hammering of a dead node)."""


@dataclass(frozen=True)
class ExecutionOptions:
    convergence_timeout: float = 45.0
    """How long to wait after heal for every node to hold every acknowledged envelope."""
    drain_timeout: float = 45.0
    """How long in-flight publishes may take to finish once the workload ends."""
    recovery_budgets: Mapping[str, float] = field(default_factory=dict)
    """Fault kind (or ``*``) -> seconds; a recovery past it has its evidence taken at that moment."""


# -- the workload ------------------------------------------------------------------------------------


def _publish(
    spec: PublisherSpec, client: ClientHandle, recorder: HistoryRecorder, t0: float, stop: threading.Event
) -> None:
    for window in sorted(spec.windows, key=lambda w: w.start):
        if stop.wait(max(0.0, t0 + window.start - time.time())):
            return
        while not stop.is_set() and time.time() < t0 + window.end:
            envelopes = [group_message_envelope() for _ in range(spec.batch_size)]
            topics = [e.aad.target_topic.hex() for e in envelopes]
            op = recorder.invoke(spec.name, spec.target, topics)
            try:
                published = client.publish_client_envelopes(envelopes)
            except PublishError as error:
                recorder.failed(op, error.code, str(error))
                stop.wait(ERROR_PAUSE)
                continue
            except Exception as error:  # any other failure leaves the outcome unknown
                recorder.failed(op, type(error).__name__, str(error))
                stop.wait(ERROR_PAUSE)
                continue
            key_of = {p.topic: p.key for p in published}
            if all(t in key_of for t in topics):
                recorder.ok(op, [key_of[t] for t in topics])
            else:
                recorder.failed(op, "INCOMPLETE", f"{len(key_of)} of {len(topics)} envelopes acknowledged")
            if window.interval:
                stop.wait(window.interval)


def _clients(env: Environment, schedule: Schedule) -> dict[str, ClientHandle]:
    payers = [env.new_payer_key() for _ in range(schedule.payers)]
    clients = {}
    for spec in schedule.publishers:
        if spec.via_gateway:
            clients[spec.name] = env.new_client(via_gateway=int(spec.target.removeprefix("gateway-")), name=spec.name)
        else:
            node_id = int(spec.target.removeprefix("node-"))
            clients[spec.name] = env.new_client(node_id, payer_key=payers[spec.payer], name=spec.name)
    return clients


def _build_cluster(env: Environment, schedule: Schedule) -> None:
    """Nodes in id order; consecutive nodes with the same overrides start together."""
    groups: list[tuple[dict[str, str], int]] = []
    for node in schedule.cluster.nodes:
        overrides = dict(node.env)
        if groups and groups[-1][0] == overrides:
            groups[-1] = (overrides, groups[-1][1] + 1)
        else:
            groups.append((overrides, 1))
    for overrides, count in groups:
        env.add_nodes(count, env=overrides or None)
    for _ in range(schedule.cluster.gateways):
        env.add_gateway()


def _start_readers(env: Environment, schedule: Schedule, recorder: HistoryRecorder) -> list[ReaderThread]:
    from xmtpd_e2e.client.reader import EnvelopeReader

    nodes = {n.alias: n for n in env.nodes()}
    originators = sorted(n.id for n in nodes.values())

    def acknowledged_topics() -> list[tuple[str, int]]:
        """(topic, originator) of every acknowledged envelope, in acknowledgement order."""
        done = sorted((op for op in recorder.operations() if op.outcome == "ok"), key=lambda op: op.complete or 0.0)
        return [(t, o) for op in done for t, (o, _) in zip(op.topics, op.keys, strict=False)]

    threads = []
    for spec in schedule.readers:
        node = nodes[spec.target]
        reader = EnvelopeReader(lambda node=node: node.endpoint)  # type: ignore[misc]
        threads.append(ReaderThread(spec, reader, recorder, originators, acknowledged_topics))
    for thread in threads:
        thread.start()
    return threads


def _wait_for_readers(readers: list[ReaderThread], recorder: HistoryRecorder, timeout: float) -> float | None:
    """Seconds until every reader had seen every acknowledged envelope it reads (None: not
    within ``timeout``); then every reader stops."""
    began = time.monotonic()
    acknowledged = {
        k: t for op in recorder.operations() if op.outcome == "ok" for t, k in zip(op.topics, op.keys, strict=False)
    }
    caught_up: float | None = None
    try:
        if readers:
            wait_until(
                lambda: sum(not r.caught_up(acknowledged) for r in readers),
                lambda behind: behind == 0,
                timeout=timeout,
                description="every reader to have read every acknowledged envelope",
                max_interval=0.5,
                detail=lambda behind: f"{behind} of {len(readers)} reader(s) behind",
            )
            caught_up = time.monotonic() - began
    except WaitTimeout:
        pass
    finally:
        for reader in readers:
            reader.stop()
        for reader in readers:
            reader.join(5.0)
            reader.reader.close()
    return caught_up


# -- faults ------------------------------------------------------------------------------------------


@dataclass
class _Nemesis:
    """Applies and heals the schedule's faults; each one is a ``fault`` span on the timeline."""

    env: Environment
    errors: list[str] = field(default_factory=list)
    _active: dict[int, tuple[Callable[[], None], Any]] = field(default_factory=dict)
    on_heal: Callable[[str, str], None] | None = None
    """Told (kind, target) after each heal: the recovery monitor starts its clock there."""

    def apply(self, index: int, fault: FaultSpec) -> None:
        # Marked as the plan's: a registry kind's controller records its own span of the same fault.
        event = self.env.timeline.begin("fault", fault.kind, (fault.target,), explore=True, **dict(fault.params))
        try:
            heal = fault_kind(fault.kind).apply(self.env, fault.target, fault.params)
        except Exception as error:
            self.env.timeline.finish(event, error=str(error))
            self.errors.append(f"applying {fault.kind} to {fault.target} failed: {error}")
            return
        self._active[index] = (heal, event)

    def heal(self, index: int) -> None:
        entry = self._active.pop(index, None)
        if entry is None:
            return
        heal, event = entry
        try:
            heal()
        except Exception as error:
            self.errors.append(f"healing {event.name} on {', '.join(event.targets)} failed: {error}")
        finally:
            self.env.timeline.finish(event)
            if self.on_heal is not None:
                self.on_heal(event.name, ", ".join(event.targets))

    def heal_all(self) -> None:
        for index in list(self._active):
            self.heal(index)


def _left_out(env: Environment, schedule: Schedule) -> list[dict[str, Any]]:
    """The planned faults this runtime cannot apply, each with the runtime's reason."""
    reasons = left_out_on(env, [f.kind for f in schedule.faults])
    return [
        {"kind": f.kind, "target": f.target, "start": f.start, "reason": reasons[f.kind]}
        for f in schedule.faults
        if f.kind in reasons
    ]


def _run_faults(nemesis: _Nemesis, schedule: Schedule, t0: float, skipped: set[int]) -> None:
    faults = [(i, f) for i, f in enumerate(schedule.faults) if i not in skipped]
    actions = sorted(
        [(f.start, 1, i, f) for i, f in faults] + [(f.end, 0, i, f) for i, f in faults],
        key=lambda a: (a[0], a[1]),
    )
    for at, is_apply, index, fault in actions:
        if at >= schedule.duration:
            continue
        delay = t0 + at - time.time()
        if delay > 0:
            time.sleep(delay)
        if is_apply:
            log.info("t=%.1fs fault %s on %s %s", at, fault.kind, fault.target, dict(fault.params))
            nemesis.apply(index, fault)
        else:
            log.info("t=%.1fs heal %s on %s", at, fault.kind, fault.target)
            nemesis.heal(index)
    remaining = t0 + schedule.duration - time.time()
    if remaining > 0:
        time.sleep(remaining)


# -- after the workload --------------------------------------------------------------------------------


def _checked_nodes(env: Environment) -> list[Any]:
    canonical = set(env.chain.canonical_node_ids())
    return [n for n in env.nodes() if n.is_running and n.id in canonical]


def _wait_for_convergence(env: Environment, acknowledged: set[tuple[int, int]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            nodes = _checked_nodes(env)
            complete = all(not (acknowledged - n.observer.envelope_keys(client_only=True)) for n in nodes)
            clocks = {tuple(sorted(n.observer.vector_clock().items())) for n in nodes}
            if complete and len(clocks) <= 1:
                return True
        except Exception as error:  # a database briefly unreachable: keep waiting
            log.debug("convergence probe failed: %s", error)
        if time.monotonic() >= deadline:
            return False
        time.sleep(1.0)


def _final_state(env: Environment) -> FinalState:
    canonical = set(env.chain.canonical_node_ids())
    return FinalState(
        {
            n.id: read_node_state(n.id, n.observer, running=n.is_running, canonical=n.id in canonical)
            for n in env.nodes()
        },
        time.time(),
    )


@dataclass
class _Workload:
    """What runs during an execution: publishers, readers, the nemesis and the recovery monitor."""

    recorder: HistoryRecorder
    nemesis: _Nemesis
    publishers: list[threading.Thread]
    readers: list[ReaderThread]
    monitor: RecoveryMonitor | None
    stop: threading.Event
    t0: float
    users: UserWorkload | None = None

    def halt(self) -> None:
        """Interrupted or timed out: teardown follows, nothing to heal or wait for."""
        self.stop.set()
        for reader in self.readers:
            reader.stop()
        if self.monitor is not None:
            self.monitor.finish(0.0)

    def acknowledged(self) -> set[tuple[int, int]]:
        return set(self.acknowledged_topics())

    def acknowledged_topics(self) -> dict[tuple[int, int], str]:
        operations = self.recorder.operations()
        return {k: t for op in operations if op.outcome == "ok" for t, k in zip(op.topics, op.keys, strict=False)}


def _start(env: Environment, schedule: Schedule, options: ExecutionOptions, users: UserWorkload | None) -> _Workload:
    clients = _clients(env, schedule)
    recorder = HistoryRecorder()
    stop = threading.Event()
    t0 = time.time()
    publishers = [
        threading.Thread(
            target=_publish,
            args=(spec, clients[spec.name], recorder, t0, stop),
            name=f"explore-{spec.name}",
            daemon=True,
        )
        for spec in schedule.publishers
    ]
    work = _Workload(recorder, _Nemesis(env), publishers, [], None, stop, t0, users)
    env.recovery.stop()  # the run's measure would repeat this monitor's, which adds budgets and evidence
    try:
        work.readers = _start_readers(env, schedule, recorder)
        work.monitor = RecoveryMonitor(env, work.acknowledged_topics, work.readers, options.recovery_budgets)
        work.nemesis.on_heal = work.monitor.healed
        work.monitor.start()
        for thread in publishers:
            thread.start()
        if users is not None:
            users.start(schedule, t0, stop)
    except BaseException:
        work.halt()
        raise
    return work


def _drain(env: Environment, work: _Workload, options: ExecutionOptions) -> tuple[float, float]:
    """Stop publishing, heal everything, restart stopped nodes; (workload end, healed) times."""
    work.stop.set()
    drain_deadline = time.monotonic() + options.drain_timeout
    for thread in work.publishers:
        thread.join(max(0.0, drain_deadline - time.monotonic()))
    if work.users is not None:
        work.users.join(drain_deadline)
    workload_ended = time.time()
    work.nemesis.heal_all()
    for node in env.nodes():
        if not node.is_running:
            node.start()
    return workload_ended, time.time()


def execute_schedule(
    env: Environment, schedule: Schedule, options: ExecutionOptions | None = None
) -> tuple[History, FinalState, list[str]]:
    """Run ``schedule`` on ``env`` (started, empty); returns the history, the healed databases and
    the errors met while injecting or healing faults."""
    options = options or ExecutionOptions()
    _build_cluster(env, schedule)
    left_out = _left_out(env, schedule)
    for fault in left_out:
        log.warning("left out: %s on %s at %gs (%s)", fault["kind"], fault["target"], fault["start"], fault["reason"])
    skipped = {i for i, f in enumerate(schedule.faults) if f.kind in {x["kind"] for x in left_out}}
    users = None
    if schedule.users:
        with env.timeline.span("phase", "explore-users-join"):
            users = UserWorkload.set_up(env, schedule)
    workload = env.timeline.begin("phase", "explore-workload", (), seed=schedule.seed)
    work = _start(env, schedule, options, users)
    try:
        _run_faults(work.nemesis, schedule, work.t0, skipped)
    except BaseException:
        work.halt()
        raise
    env.timeline.finish(workload)
    workload_ended, healed = _drain(env, work, options)
    operations = work.recorder.operations()
    with env.timeline.span("phase", "explore-convergence"):
        converged = _wait_for_convergence(env, work.acknowledged(), options.convergence_timeout)
    log.info(
        "workload done: %s; %s after heal",
        _outcome_counts(operations),
        "converged" if converged else f"not converged within {options.convergence_timeout:g}s",
    )
    with env.timeline.span("phase", "explore-readers-catch-up"):
        caught_up = _wait_for_readers(work.readers, work.recorder, options.convergence_timeout)
    log.info("readers caught up: %s", "no readers" if not work.readers else caught_up)
    users_history = _users_catch_up(env, work, options)
    recoveries = work.monitor.finish(RECOVERY_GRACE) if work.monitor is not None else []
    final = _final_state(env)
    history = History(
        operations, env.timeline.events(), work.t0, workload_ended, healed, work.recorder.reads(), recoveries, left_out
    )
    history.users = users_history
    return history, final, work.nemesis.errors


def _users_catch_up(env: Environment, work: _Workload, options: ExecutionOptions) -> UsersHistory | None:
    if work.users is None:
        return None
    with env.timeline.span("phase", "explore-users-catch-up"):
        users = work.users.finish(options.convergence_timeout)
    log.info("users caught up: %s", users.caught_up_seconds)
    return users


def _outcome_counts(operations: list[Any]) -> str:
    counts: dict[str, int] = {}
    for op in operations:
        counts[op.outcome or "pending"] = counts.get(op.outcome or "pending", 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no operations"


def run_schedule(
    env: Environment,
    schedule: Schedule,
    *,
    check_options: CheckOptions | None = None,
    execution: ExecutionOptions | None = None,
) -> tuple[History, FinalState, Verdict]:
    """Execute and check; errors injecting or healing faults are violations of kind ``fault-error``."""
    history, final, errors = execute_schedule(env, schedule, execution)
    verdict = check(history, final, check_options)
    verdict.violations += [Violation("fault-error", message) for message in errors]
    return history, final, verdict


# -- one exploration through the runner -------------------------------------------------------------------


@dataclass
class Exploration:
    """One execution of a schedule: what happened, what the databases held, and the verdict."""

    schedule: Schedule
    status: str
    """The runner's status: PASS, FAIL (violations), ERROR, TIMEOUT, INTERRUPTED, SETUP_ERROR."""
    history: History | None = None
    final: FinalState | None = None
    verdict: Verdict | None = None
    error: str | None = None
    run_id: str = ""
    artifacts: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0
    environment: dict[str, Any] = field(default_factory=dict)
    interrupted_by: str | None = None
    """The signal that stopped the run (SIGINT, SIGTERM), if one did."""
    load_average: tuple[float, float] = (0.0, 0.0)
    """The machine's 1-minute load average when the run began and ended: latencies and liveness
    verdicts mean little on a machine far beyond its cores."""

    @property
    def failed(self) -> bool:
        """A violation was found (as opposed to passing, or not getting that far)."""
        return self.verdict is not None and not self.verdict.ok

    def to_dict(self, *, with_history: bool = True) -> dict[str, Any]:
        return {
            "status": self.status,
            "error": self.error,
            "run_id": self.run_id,
            "duration_seconds": round(self.duration_seconds, 1),
            "artifacts": self.artifacts,
            "load_average": list(self.load_average),
            "environment": self.environment,
            "schedule": self.schedule.to_dict(),
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "history": None if self.history is None or not with_history else self.history.to_dict(),
            "final_state": None if self.final is None or not with_history else self.final.to_dict(),
        }


def explore_once(
    config: RunConfig,
    schedule: Schedule,
    *,
    check_options: CheckOptions | None = None,
    execution: ExecutionOptions | None = None,
) -> Exploration:
    """Run ``schedule`` once in a fresh environment, through the runner (see module docstring)."""
    from xmtpd_e2e.runner.execution import Runner
    from xmtpd_e2e.runner.lifecycle import default_environment_factory
    from xmtpd_e2e.runner.requirements import MLS_VALIDATION, XMTP_USERS
    from xmtpd_e2e.runner.scenario import ScenarioInfo

    outcome = Exploration(schedule, "ERROR")

    def scenario(env: Environment) -> None:
        history, final, verdict = run_schedule(env, schedule, check_options=check_options, execution=execution)
        outcome.history, outcome.final, outcome.verdict = history, final, verdict
        if not verdict.ok:
            raise CheckFailed("; ".join(v.message for v in verdict.violations[:3]))

    info = ScenarioInfo(
        requires=(MLS_VALIDATION, XMTP_USERS) if schedule.users else (),
        name=f"explore-{schedule.seed}",
        description="explore: seeded workload and faults",
        func=scenario,
        invariants_skipped="explore checks its own properties on the history",
        timeout_seconds=schedule.duration + 600,
        module=__name__,
    )
    runner = Runner(config, default_environment_factory())
    load_before = os.getloadavg()[0]
    result = runner.run([info])
    outcome.load_average = (round(load_before, 1), round(os.getloadavg()[0], 1))
    scenario_result = result.scenarios[0]
    # A signal during teardown leaves a FAIL as it was; exploring must still stop there.
    outcome.interrupted_by = runner.guard.interrupted
    outcome.status = "INTERRUPTED" if runner.guard.interrupted else scenario_result.status.value
    outcome.error = scenario_result.error if outcome.verdict is None or outcome.status != "FAIL" else None
    if outcome.status == "INTERRUPTED" and not outcome.error:
        outcome.error = f"interrupted by {runner.guard.interrupted or 'a signal'}"
    outcome.run_id = result.run_id
    outcome.artifacts = scenario_result.artifacts
    outcome.duration_seconds = scenario_result.duration_seconds
    outcome.environment = scenario_result.environment
    return outcome
