"""One ``--parallel`` worker: a process running a single scenario from a job file.

The parent writes the job as JSON -- the run's settings (:meth:`RunConfig.to_json`), the
scenario's name, the modules to load scenarios from, and where to write results -- so a worker
runs with exactly the parent's settings, with no command line rebuilt flag by flag in between.
Each worker is a run of its own (own run id, record, network, ports and databases); it writes its
results as JSON and exits 0 (passed), 1 (did not pass) or 2 (setup error, results may be absent).

Run as ``python -m xmtpd_e2e.runner.worker JOB.json``; the parent adds ``--slot``: the worker
then brings up its environment's base services, waits for its slot and gives it back at the
verdict (:mod:`xmtpd_e2e.runner.slots`), so it can be started ahead, while every slot is busy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runner.slots import PipeSlot, Slot

__all__ = ["WorkerJob", "worker_arguments", "worker_command", "write_job", "main", "PACED"]

PACED = "--slot"


@dataclass(frozen=True)
class WorkerJob:
    config: RunConfig
    scenario: str
    modules: tuple[str, ...]
    output: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.to_json(),
            "scenario": self.scenario,
            "modules": list(self.modules),
            "output": str(self.output),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkerJob:
        return cls(
            RunConfig.from_json(data["config"]), str(data["scenario"]), tuple(data["modules"]), Path(data["output"])
        )


def write_job(job: WorkerJob, job_file: Path) -> None:
    job_file.write_text(json.dumps(job.to_json(), indent=2))


def worker_arguments(job: WorkerJob, job_file: Path, *, paced: bool = False) -> list[str]:
    """Write ``job`` to ``job_file``; the worker's arguments (``paced``: over a slot)."""
    write_job(job, job_file)
    return [str(job_file), *([PACED] if paced else [])]


def worker_command(job: WorkerJob, job_file: Path, *, paced: bool = False) -> list[str]:
    """Write ``job`` to ``job_file``; the command that runs it as a new interpreter."""
    return [sys.executable, "-m", "xmtpd_e2e.runner.worker", *worker_arguments(job, job_file, paced=paced)]


def run_job(job: WorkerJob, slot: Slot | None = None) -> int:
    from xmtpd_e2e.logs import configure_logging
    from xmtpd_e2e.runner.discovery import load_scenarios
    from xmtpd_e2e.runner.execution import Runner
    from xmtpd_e2e.runner.lifecycle import default_environment_factory
    from xmtpd_e2e.runner.reports import render_json

    configure_logging(job.config.log_level, job.config.log_encoding)
    info = load_scenarios(job.modules, from_source=True).get(job.scenario)
    if info is None:
        raise SetupError(f"unknown scenario {job.scenario!r}", "name a scenario that `xmtpd-e2e list` shows")
    result = Runner(job.config, default_environment_factory(), slot=slot).run([info])
    job.output.write_text(render_json(result) + "\n")
    return result.exit_code()


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    paced = PACED in args
    if paced:
        args.remove(PACED)
    if len(args) != 1:
        sys.stderr.write(f"usage: python -m xmtpd_e2e.runner.worker JOB.json [{PACED}]\n")
        sys.exit(2)
    try:
        job = WorkerJob.from_json(json.loads(Path(args[0]).read_text()))
        sys.exit(run_job(job, PipeSlot(sys.stdin, sys.stdout) if paced else None))
    except SetupError as error:
        sys.stderr.write(f"error: {error.problem}\n" + (f"fix: {error.fix}\n" if error.fix else ""))
        sys.exit(2)


if __name__ == "__main__":
    main()
