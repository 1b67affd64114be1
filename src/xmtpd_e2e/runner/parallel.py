"""``run --parallel N``: scenarios in separate worker processes, results merged.

Each worker is a process running one scenario (:mod:`xmtpd_e2e.runner.worker`) with the parent's
settings handed over as JSON; it is a run of its own (own run id, record, network, ports and
databases) and nothing is shared but the machine.
Workers write JSON results to a file and their logs to ``<artifacts>/workers/<name>.log``, so
the parent's output stays one readable line per scenario.  SIGINT/SIGTERM are forwarded to the
workers, which tear down their environments before the parent exits.
"""

from __future__ import annotations

import json
import os
import signal
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.progress import WorkerProgressRelay
from xmtpd_e2e.runner.results import RunResult, ScenarioResult, Status
from xmtpd_e2e.runner.scenario import ScenarioInfo
from xmtpd_e2e.record import new_run_id
from xmtpd_e2e.runner.worker import WorkerJob, worker_command

__all__ = ["run_in_workers"]

Progress = Callable[[str, ScenarioInfo, ScenarioResult | None], None]


def run_in_workers(
    scenarios: Sequence[ScenarioInfo], config: RunConfig, workers: int, modules: Sequence[str], progress: Progress
) -> RunResult:
    result = RunResult(run_id=new_run_id(), started_at=time.time())
    # Longest first: the run ends when its slowest scenario does, so that one should start at once
    # (results are still reported in catalogue order).
    pending = sorted(scenarios, key=lambda s: -s.typical_seconds)
    running: dict[subprocess.Popen[bytes], tuple[ScenarioInfo, Path, float]] = {}
    log_dir = config.artifacts_dir / "workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="xmtpd-e2e-workers-"))
    interrupted: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        interrupted.append(signum)
        for process in running:
            if process.poll() is None:
                process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    finished: dict[str, ScenarioResult] = {}
    relay = WorkerProgressRelay()
    try:
        while pending or running:
            while pending and len(running) < workers and not interrupted:
                info = pending.pop(0)
                output = scratch / f"{info.name}.json"
                with (log_dir / f"{info.name}.log").open("wb") as log:
                    job = WorkerJob(config, info.name, tuple(modules), output)
                    process = subprocess.Popen(worker_command(job, scratch / f"{info.name}.job.json"),
                                               stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ))
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
                finished[info.name] = outcome
                progress("finish", info, outcome)
            time.sleep(0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(scratch, ignore_errors=True)
    result.scenarios = [finished[s.name] for s in scenarios if s.name in finished]
    result.finished_at = time.time()
    return result


def _collect(info: ScenarioInfo, output: Path, started: float, returncode: int, log: Path) -> ScenarioResult:
    try:
        data = json.loads(output.read_text())
        outcome = ScenarioResult.from_dict(data["scenarios"][0])
    except (OSError, ValueError, KeyError, IndexError):
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        status = Status.SETUP_ERROR if returncode == 2 else Status.ERROR
        outcome = ScenarioResult(info.name, status, time.time() - started, started,
                                 error=f"worker exited with {returncode} without results; log tail:\n{tail}")
    if outcome.log_file is None:
        outcome.log_file = str(log)
    return outcome
