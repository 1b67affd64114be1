"""``run --parallel N``: scenarios in separate worker processes, results merged.

Each worker is a process running one scenario (:mod:`xmtpd_e2e.runner.worker`) with the parent's
settings handed over as JSON; it is a run of its own (own run id, record, network, ports and
databases) and nothing is shared but the machine.
Workers write JSON results and their logs into the parent run's own directory (recorded, so
``cleanup`` removes it after a crash), so the parent's output stays one readable line per
scenario; a worker's log is kept, beside its scenario's artifacts, only if the scenario did not
pass (or with ``--artifacts-always``).  SIGINT/SIGTERM are forwarded to the workers, which tear
down their environments before the parent exits.

Workers are forked from a server that imported the framework once (:mod:`.forkserver`), so a
worker starts in milliseconds instead of 1.5-1.9 s of imports.  Workers are paced by slots (:mod:`xmtpd_e2e.runner.slots`): at most N scenarios run at once.
While every slot is busy and scenarios wait, the next worker is launched ahead: it brings up its
environment's base services while the others run, and starts its scenario the moment a slot
frees.  A worker gives its slot back at its verdict, so its artifacts
and teardown overlap the next scenario.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.progress import WorkerProgressRelay
from xmtpd_e2e.runner.results import RunResult, ScenarioResult, Status
from xmtpd_e2e.runner.scenario import ScenarioInfo
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runner.cleanup import finish_run
from xmtpd_e2e.runner.forkserver import ForkedProcess, ForkServer
from xmtpd_e2e.runner.slots import GO, RELEASED
from xmtpd_e2e.runner.worker import WorkerJob, worker_arguments

__all__ = ["run_in_workers"]

Progress = Callable[[str, ScenarioInfo, ScenarioResult | None], None]


@dataclass
class _Worker:
    """One worker process and where it stands: launched (bringing up, or waiting for its slot),
    running (holds a slot), released (tearing down), exited."""

    info: ScenarioInfo
    process: subprocess.Popen[bytes] | ForkedProcess
    output: Path
    log: Path
    launched_at: float
    running: bool = False
    released: bool = False

    @classmethod
    def launch(
        cls, info: ScenarioInfo, config: RunConfig, modules: Sequence[str], scratch: Path, server: ForkServer | None
    ) -> _Worker:
        """Forked by ``server``; started as a new interpreter when there is none or it failed."""
        output, log = scratch / f"{info.name}.json", scratch / f"{info.name}.log"
        job = WorkerJob(config, info.name, tuple(modules), output)
        arguments = worker_arguments(job, scratch / f"{info.name}.job.json", paced=True)
        with log.open("wb") as handle:
            process: subprocess.Popen[bytes] | ForkedProcess | None = None
            if server is not None:
                try:
                    process = server.spawn(arguments, handle)
                except OSError as error:
                    logging.getLogger("xmtpd_e2e.runner.parallel").warning("fork server failed: %s", error)
            if process is None:
                process = subprocess.Popen(
                    [sys.executable, "-m", "xmtpd_e2e.runner.worker", *arguments],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=handle,
                    env=dict(os.environ),
                )
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        return cls(info, process, output, log, time.time())

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def holds_slot(self) -> bool:
        return self.running and not self.released and self.alive

    @property
    def waiting(self) -> bool:
        """Launched ahead, not yet given its slot."""
        return not self.running and self.alive

    def go(self) -> None:
        """Give it its slot; a worker that died meanwhile is collected as it exits."""
        self.running = True
        self._tell(f"{GO}\n".encode())

    def end_input(self) -> None:
        """No slot will come (the run is interrupted): the worker tears down without running."""
        self._tell(b"")

    def notice_release(self) -> None:
        assert self.process.stdout is not None
        try:
            told = os.read(self.process.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return
        if RELEASED.encode() in told.splitlines():
            self.released = True

    def _tell(self, line: bytes) -> None:
        if self.process.stdin is None or self.process.stdin.closed:
            return
        try:
            if line:
                self.process.stdin.write(line)
            self.process.stdin.close()
        except OSError:
            pass


def run_in_workers(
    scenarios: Sequence[ScenarioInfo], config: RunConfig, workers: int, modules: Sequence[str], progress: Progress
) -> RunResult:
    launched: list[_Worker] = []
    interrupted: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        interrupted.append(signum)
        for worker in launched:
            if worker.alive:
                worker.process.send_signal(signum)

    # Signals are forwarded from before the run record exists: an interrupt can then never fall
    # between creating the record and the block that finishes it.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    state: RunState | None = None
    server: ForkServer | None = None
    try:
        state = RunState.create(config.home)
        result = RunResult(run_id=state.run_id, started_at=time.time())
        # Longest first: the run ends when its slowest scenario does, so that one should start at
        # once (results are still reported in catalogue order).
        pending = sorted(scenarios, key=lambda s: -s.typical_seconds)
        scratch = state.work_dir / "workers"
        state.record("directory", str(scratch))
        scratch.mkdir(parents=True, exist_ok=True)
        with (scratch / "forkserver.log").open("wb") as server_log:
            server = ForkServer(server_log)
        finished: dict[str, ScenarioResult] = {}
        relay = WorkerProgressRelay()

        def launch_next() -> _Worker:
            worker = _Worker.launch(pending.pop(0), config, modules, scratch, server)
            launched.append(worker)
            return worker

        while pending or any(w.alive or w.info.name not in finished for w in launched):
            if interrupted:
                for worker in launched:
                    if worker.waiting:
                        worker.end_input()
            else:
                _fill_slots(launched, workers, pending, launch_next, progress)
            for worker in launched:
                if worker.alive:
                    worker.notice_release()  # also drains what a scenario printed, so no worker blocks
                if worker.holds_slot:
                    relay.poll(worker.info.name, worker.log)
            for worker in [w for w in launched if not w.alive and w.info.name not in finished]:
                relay.forget(worker.info.name)
                if not worker.running:  # ended before its slot came: set-up failed, or interrupted
                    progress("start", worker.info, None)
                code = worker.process.poll()
                assert code is not None
                outcome = _collect(worker.info, worker.output, worker.launched_at, code, worker.log)
                _keep_worker_log(outcome, worker.log, config, result.run_id)
                finished[worker.info.name] = outcome
                progress("finish", worker.info, outcome)
            if interrupted and not any(w.alive for w in launched):
                break
            time.sleep(0.1)
    finally:
        for worker in launched:  # only left alive when the parent itself failed
            if worker.alive:
                worker.end_input()
                try:
                    worker.process.wait(timeout=300)
                except subprocess.TimeoutExpired:
                    worker.process.kill()
                    worker.process.wait(timeout=60)  # SIGKILL: exits at once
        if server is not None:
            server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if state is not None:
            logger = logging.getLogger("xmtpd_e2e.runner.parallel")
            # The workers' scratch directory is this function's own to remove; finish_run then
            # only warns about what an interrupted or crashed teardown really left.
            scratch = state.work_dir / "workers"
            shutil.rmtree(scratch, ignore_errors=True)
            if not scratch.exists():
                state.forget("directory", str(scratch))
            for problem in finish_run(state, logger=logger):
                logger.error("could not remove: %s", problem)
    result.scenarios = [finished[s.name] for s in scenarios if s.name in finished]
    result.finished_at = time.time()
    if interrupted:
        result.interrupted_by = signal.Signals(interrupted[0]).name
        result.mark_not_run([s.name for s in scenarios if s.name not in finished], result.finished_at)
    return result


def _fill_slots(
    launched: list[_Worker],
    slots: int,
    pending: list[ScenarioInfo],
    launch_next: Callable[[], _Worker],
    progress: Progress,
) -> None:
    """Free slots go to the worker launched ahead first, then to new workers; while every slot is
    busy and scenarios wait, one worker is launched ahead."""
    busy = sum(w.holds_slot for w in launched)
    while busy < slots:
        worker = next((w for w in launched if w.waiting), None)
        if worker is None:
            if not pending:
                return
            worker = launch_next()
        worker.go()
        progress("start", worker.info, None)
        busy += 1
    if pending and not any(w.waiting for w in launched):
        launch_next()


def _keep_worker_log(outcome: ScenarioResult, log: Path, config: RunConfig, parent_run_id: str) -> None:
    """Move a worker's log beside its scenario's artifacts when those are kept; otherwise it goes
    with the run's directory."""
    if outcome.status is Status.PASS and not config.artifacts_always:
        return
    # The worker's own scenario log sits at the top of that scenario's artifacts.
    directory = (
        Path(outcome.log_file).parent if outcome.log_file else (config.artifacts_dir / parent_run_id / outcome.name)
    )
    directory.mkdir(parents=True, exist_ok=True)
    try:
        kept = Path(shutil.move(str(log), str(directory / "worker.log")))
    except OSError:
        return
    outcome.artifacts = sorted({*outcome.artifacts, str(kept)})
    if outcome.log_file is None:
        outcome.log_file = str(kept)


def _collect(info: ScenarioInfo, output: Path, started: float, returncode: int, log: Path) -> ScenarioResult:
    try:
        data = json.loads(output.read_text())
        outcome = ScenarioResult.from_dict(data["scenarios"][0])
    except (OSError, ValueError, KeyError, IndexError):
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        status = Status.SETUP_ERROR if returncode == 2 else Status.ERROR
        outcome = ScenarioResult(
            info.name,
            status,
            time.time() - started,
            started,
            error=f"worker exited with {returncode} without results; log tail:\n{tail}",
        )
    return outcome
