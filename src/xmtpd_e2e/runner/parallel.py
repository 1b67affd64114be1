"""``run --parallel N``: scenarios in separate worker processes, results merged.

Each worker is a process running one scenario (:mod:`xmtpd_e2e.runner.worker`) with the parent's
settings handed over as JSON; it is a run of its own (own run id, record, network, ports and
databases) and nothing is shared but the machine.
Workers write JSON results and their logs into the parent run's own directory (recorded, so
``cleanup`` removes it after a crash), so the parent's output stays one readable line per
scenario; a worker's log is kept, beside its scenario's artifacts, only if the scenario did not
pass (or with ``--artifacts-always``).  SIGINT/SIGTERM are forwarded to the workers, which tear
down their environments before the parent exits.
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
from pathlib import Path
from types import FrameType

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.progress import WorkerProgressRelay
from xmtpd_e2e.runner.results import RunResult, ScenarioResult, Status
from xmtpd_e2e.runner.scenario import ScenarioInfo
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runner.cleanup import finish_run
from xmtpd_e2e.runner.worker import WorkerJob, worker_command

__all__ = ["run_in_workers"]

Progress = Callable[[str, ScenarioInfo, ScenarioResult | None], None]


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
                with (log_dir / f"{info.name}.log").open("wb") as log:
                    job = WorkerJob(config, info.name, tuple(modules), output)
                    process = subprocess.Popen(
                        worker_command(job, scratch / f"{info.name}.job.json"),
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                        env=dict(os.environ),
                    )
                running[process] = (info, output, time.time())
                progress("start", info, None)
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
