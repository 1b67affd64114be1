"""Running scenarios: a fresh environment each, checks, artifacts, guaranteed teardown.

Order per scenario: create + start the environment -> the scenario's own set-up, if it has one
(``@scenario(setup=...)``) -> (a ``--parallel`` worker: wait for its slot) -> run -> global
invariants (unless the scenario opts out) -> (give the slot back) ->
artifacts (on anything but PASS, or always when asked) -> teardown, which always happens and never
changes the verdict (a teardown error is reported beside it).  The time spent waiting for the slot
is not the scenario's: it counts neither in its duration nor against its timeout.
A :class:`SetupError` or an interruption stops the remaining scenarios.
"""

from __future__ import annotations

import logging
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import CheckFailed, Interrupted, ScenarioTimeout, SetupError
from xmtpd_e2e.logs import scenario_log_file
from xmtpd_e2e.runner.lifecycle import EnvironmentFactory, EnvironmentRequest, ManagedEnvironment
from xmtpd_e2e.runner.requirements import unmet_requirement
from xmtpd_e2e.runner.results import RunResult, ScenarioResult, Status
from xmtpd_e2e.runner.scenario import ScenarioInfo
from xmtpd_e2e.runner.signals import FastTeardown, SignalGuard
from xmtpd_e2e.runner.slots import Slot
from xmtpd_e2e.record import RunState

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment

__all__ = ["Runner", "ProgressListener"]

ProgressListener = Callable[[str, ScenarioInfo, ScenarioResult | None], None]
"""Called with ("start", scenario, None) and ("finish", scenario, result)."""


class Runner:
    def __init__(
        self,
        config: RunConfig,
        factory: EnvironmentFactory,
        *,
        run_state: RunState | None = None,
        progress: ProgressListener | None = None,
        slot: Slot | None = None,
    ) -> None:
        self.config = config
        self.slot = slot
        self.factory = factory
        self.run_state = run_state or RunState.create(config.home)
        self.progress = progress
        self.guard = SignalGuard()
        self.log = logging.getLogger("xmtpd_e2e.runner")

    def run(self, scenarios: Sequence[ScenarioInfo]) -> RunResult:
        result = RunResult(run_id=self.run_state.run_id, started_at=time.time())
        self.guard.install()
        try:
            for info in scenarios:
                if self.guard.interrupted:
                    break
                if self.progress:
                    self.progress("start", info, None)
                refusal = unmet_requirement(info.name, info.requires, self.config)
                outcome = self.run_one(info) if refusal is None else self._refused(info, refusal)
                result.scenarios.append(outcome)
                if self.progress:
                    self.progress("finish", info, outcome)
                if outcome.status is Status.SETUP_ERROR and refusal is None:
                    break
        finally:
            result.finished_at = time.time()
            self._sweep()
            self.guard.uninstall()
        if self.guard.interrupted:
            result.interrupted_by = self.guard.interrupted
            done = {s.name for s in result.scenarios}
            result.mark_not_run([s.name for s in scenarios if s.name not in done], result.finished_at)
        return result

    def _refused(self, info: ScenarioInfo, refusal: SetupError) -> ScenarioResult:
        """A scenario whose requirement this run cannot meet: a SETUP_ERROR saying why, without
        an environment; the scenarios after it still run."""
        self.log.error("%s refused: %s", info.name, refusal)
        return ScenarioResult(
            info.name, Status.SETUP_ERROR, 0.0, time.time(), error=str(refusal), typical_seconds=info.typical_seconds
        )

    def _sweep(self) -> None:
        """An interrupt can land while an environment is half-built (before the runner holds
        it), and a teardown can fail; the run state still names every resource."""
        from xmtpd_e2e.runner.cleanup import finish_run

        # Still guarded: a signal now hurries the sweep instead of cutting it short.
        with self.guard.phase("teardown"):
            try:
                problems = finish_run(self.run_state, logger=self.log, search=self.guard.interrupted is not None)
            except FastTeardown:
                problems = finish_run(self.run_state, logger=self.log, search=self.guard.interrupted is not None)
        for problem in problems:
            self.log.error("could not remove: %s (run `xmtpd-e2e cleanup --run %s`)", problem, self.run_state.run_id)

    def run_one(self, info: ScenarioInfo) -> ScenarioResult:
        artifacts_dir = self.config.artifacts_dir / self.run_state.run_id / info.name
        logger = logging.getLogger(f"xmtpd_e2e.scenario.{info.name}")
        started, began = time.time(), time.monotonic()
        outcome = ScenarioResult(info.name, Status.PASS, 0.0, started, typical_seconds=info.typical_seconds)
        env: ManagedEnvironment | None = None
        waited = 0.0
        timeout = (
            self.config.scenario_timeout
            if self.config.timeout_given
            else (info.timeout_seconds or self.config.scenario_timeout)
        )
        # The log is written in the run's own directory (removed with the run) and moved into the
        # artifacts only if they are kept, so a passing run leaves nothing behind.
        with scenario_log_file(logger, self.run_state.work_dir / f"{info.name}.log") as log_path:
            try:
                with self.guard.phase("setup", timeout=timeout):
                    request = EnvironmentRequest(info, self.config, self.run_state, logger, artifacts_dir)
                    env = self.factory(request)
                    env.start()
                    if info.setup is not None:
                        with env.timeline.span("phase", "setup"):
                            info.set_up(cast("Environment", env))
                    waited = self._wait_for_slot(env)
                    with self.guard.phase("scenario"), env.timeline.span("phase", "scenario"):
                        info.run(cast("Environment", env))
                    if info.invariants_skipped is None:
                        with self.guard.phase("invariants"), env.timeline.span("phase", "invariants"):
                            violations = env.check_invariants()
                        if violations:
                            outcome.invariant_violations = violations
                            raise CheckFailed("global invariants violated: " + "; ".join(violations))
                    else:
                        logger.info("invariants not checked: %s", info.invariants_skipped)
            except SetupError as error:
                self._record(outcome, Status.SETUP_ERROR, error, logger, keep_traceback=False)
            except ScenarioTimeout as error:  # its message says where: no traceback on the terminal
                self._record(outcome, Status.TIMEOUT, error, logger, keep_traceback=False)
            except Interrupted as error:
                self._record(outcome, Status.INTERRUPTED, error, logger, keep_traceback=False)
            except AssertionError as error:  # CheckFailed included
                self._record(outcome, Status.FAIL, error, logger)
            except BaseException as error:
                self._record(outcome, Status.ERROR, error, logger)
            finally:
                if self.slot is not None:
                    self.slot.release()
                if env is not None:
                    self._finish(env, info, outcome, artifacts_dir, logger)
            outcome.duration_seconds = time.monotonic() - began - waited
            logger.info("%s %s in %.1fs", info.name, outcome.status.value, outcome.duration_seconds)
        if outcome.status is Status.PASS and not self.config.artifacts_always:
            if self.config.keep_logs_for_report and outcome.service_logs:
                from xmtpd_e2e.report.logs import cap_log  # the report package: only for --html

                outcome.service_logs["scenario"] = cap_log(log_path.read_text(errors="replace"))
            log_path.unlink(missing_ok=True)
        else:
            artifacts_dir.mkdir(parents=True, exist_ok=True)
            kept = shutil.move(str(log_path), str(artifacts_dir / "scenario.log"))
            outcome.log_file = str(kept)
            outcome.artifacts = sorted(str(p) for p in artifacts_dir.rglob("*") if p.is_file())
        return outcome

    def _wait_for_slot(self, env: ManagedEnvironment) -> float:
        """Seconds spent waiting for this worker's turn (none without a slot), on the timeline as a
        phase and off the scenario's clock: its alarm is held meanwhile."""
        if self.slot is None:
            return 0.0
        began = time.monotonic()
        with self.guard.alarm_held(), env.timeline.span("phase", "waiting_for_slot"):
            self.slot.wait()
        return time.monotonic() - began

    def _record(
        self,
        outcome: ScenarioResult,
        status: Status,
        error: BaseException,
        logger: logging.Logger,
        *,
        keep_traceback: bool = True,
    ) -> None:
        outcome.status = status
        outcome.error = str(error) or type(error).__name__
        if keep_traceback:
            outcome.traceback = "".join(traceback.format_exception(error))
            logger.error("%s: %s\n%s", status.value, outcome.error, outcome.traceback)
        else:
            logger.error("%s: %s", status.value, outcome.error)

    def _finish(
        self,
        env: ManagedEnvironment,
        info: ScenarioInfo,
        outcome: ScenarioResult,
        artifacts_dir: Path,
        logger: logging.Logger,
    ) -> None:
        with self.guard.phase("teardown"):
            try:
                env.timeline.instant(
                    "check",
                    "verdict",
                    (),
                    status=outcome.status.value,
                    invariant_violations=len(outcome.invariant_violations),
                )
                outcome.environment = env.summary()
                outcome.observations = env.observations()
                if outcome.status is not Status.PASS or self.config.artifacts_always:
                    env.collect_artifacts(artifacts_dir)
                elif self.config.keep_logs_for_report:
                    from xmtpd_e2e.report.logs import cap_log

                    outcome.service_logs = {name: cap_log(text) for name, text in env.service_logs().items()}
            except FastTeardown:
                pass
            except Exception as error:
                logger.warning("collecting artifacts failed: %s", error)
            try:
                try:
                    env.close(fast=self.guard.fast)
                except FastTeardown:
                    logger.warning("second signal: fast teardown")
                    env.close(fast=True)
            except Exception as error:
                outcome.teardown_error = f"{type(error).__name__}: {error}"
                logger.warning("teardown error: %s", outcome.teardown_error)
            outcome.timeline = env.timeline.to_list()
            outcome.recoveries = env.recoveries()  # after close: the probe has stopped
        if self.guard.interrupted and outcome.status is Status.PASS:
            outcome.status = Status.INTERRUPTED
            outcome.error = f"interrupted by {self.guard.interrupted}"
