"""``run --parallel N``: scenarios in separate worker processes, results merged.

Each worker is a process running one scenario (:mod:`xmtpd_e2e.runner.worker`) with the parent's
settings handed over as JSON; it is a run of its own (own run id, record, network, ports and
databases) and nothing is shared but the machine.
Workers write JSON results and their logs into the parent run's own directory (recorded, so
``cleanup`` removes it after a crash), so the parent's output stays one readable line per
scenario; a worker's log is kept, beside its scenario's artifacts, only if the scenario did not
pass (or with ``--artifacts-always``).  SIGINT/SIGTERM are forwarded to the workers, which tear
down their environments before the parent exits.

While every slot is busy and scenarios wait, one spare worker is started ahead: it imports the
framework (1-2 s of CPU per process) while the others run, and takes the next scenario the moment
a slot frees.  An unused spare is sent end of input and exits.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
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
from xmtpd_e2e.runner.worker import WorkerJob, spare_worker_command, worker_command, write_job

__all__ = ["run_in_workers"]

Progress = Callable[[str, ScenarioInfo, ScenarioResult | None], None]


@dataclass
class _Spare:
    """A worker started before its job (see module docstring), logging to ``log`` until then."""

    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, log: Path) -> _Spare:
        with log.open("wb") as handle:
            process = subprocess.Popen(
                spare_worker_command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=handle,
                env=dict(os.environ),
            )
        return cls(process, log)

    def take(self, job: WorkerJob, job_file: Path, log: Path) -> subprocess.Popen[bytes] | None:
        """Hand ``job`` to the spare, its log renamed to ``log``; None if the spare is gone."""
        if self.process.poll() is not None or self.process.stdin is None:
            self.discard()
            return None
        write_job(job, job_file)
        self.log.rename(log)
        try:
            self.process.stdin.write(f"{job_file}\n".encode())
            self.process.stdin.close()
        except OSError:  # it died just now: its log says why, a fresh worker takes the job
            self.process.wait()
            return None
        return self.process

    def discard(self) -> None:
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()  # end of input: an unused spare exits 0
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.log.unlink(missing_ok=True)


def run_in_workers(
    scenarios: Sequence[ScenarioInfo], config: RunConfig, workers: int, modules: Sequence[str], progress: Progress
) -> RunResult:
    running: dict[subprocess.Popen[bytes], tuple[ScenarioInfo, Path, float]] = {}
    interrupted: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        interrupted.append(signum)
        for process in running:
            if process.poll() is None:
                process.send_signal(signum)

    # Signals are forwarded from before the run record exists: an interrupt can then never fall
    # between creating the record and the block that finishes it.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    state: RunState | None = None
    spare: _Spare | None = None
    try:
        state = RunState.create(config.home)
        result = RunResult(run_id=state.run_id, started_at=time.time())
        # Longest first: the run ends when its slowest scenario does, so that one should start at
        # once (results are still reported in catalogue order).
        pending = sorted(scenarios, key=lambda s: -s.typical_seconds)
        scratch = state.work_dir / "workers"
        state.record("directory", str(scratch))
        scratch.mkdir(parents=True, exist_ok=True)
        log_dir = scratch
        finished: dict[str, ScenarioResult] = {}
        relay = WorkerProgressRelay()
        while pending or running:
            while pending and len(running) < workers and not interrupted:
                info = pending.pop(0)
                output = scratch / f"{info.name}.json"
                job = WorkerJob(config, info.name, tuple(modules), output)
                job_file, log_path = scratch / f"{info.name}.job.json", log_dir / f"{info.name}.log"
                process = spare.take(job, job_file, log_path) if spare is not None else None
                spare = None
                if process is None:
                    with log_path.open("wb") as log:
                        process = subprocess.Popen(
                            worker_command(job, job_file), stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ)
                        )
                running[process] = (info, output, time.time())
                progress("start", info, None)
            if pending and spare is None and not interrupted:
                spare = _Spare.start(scratch / "spare.log")
            if interrupted and not running:
                break
            for info, _, _ in running.values():
                relay.poll(info.name, log_dir / f"{info.name}.log")
            for process in [p for p in running if p.poll() is not None]:
                info, output, started = running.pop(process)
                relay.forget(info.name)
                outcome = _collect(info, output, started, process.returncode, log_dir / f"{info.name}.log")
                _keep_worker_log(outcome, log_dir / f"{info.name}.log", config, result.run_id)
                finished[info.name] = outcome
                progress("finish", info, outcome)
            time.sleep(0.1)
    finally:
        if spare is not None:
            spare.discard()
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
