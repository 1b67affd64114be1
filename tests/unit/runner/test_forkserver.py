"""Workers forked from a server that imported the framework: fresh processes, exit codes relayed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.runner.forkserver import ForkServer
from xmtpd_e2e.runner.worker import WorkerJob, worker_arguments

TESTS = Path(__file__).resolve().parents[2]


@pytest.fixture()
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ForkServer]:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p))
    monkeypatch.setenv("XMTPD_E2E_ENVIRONMENT_FACTORY", "unit.runner.fakes:factory")
    with (tmp_path / "server.log").open("wb") as log:
        started = ForkServer(log)
    yield started
    started.close()


def job(tmp_path: Path, scenario: str, name: str) -> list[str]:
    work = WorkerJob(
        RunConfig(home=tmp_path / "home"), scenario, ("unit.cli.user_scenarios",), tmp_path / f"{name}.json"
    )
    return worker_arguments(work, tmp_path / f"{name}.job.json")


def test_forked_workers_run_their_jobs_as_runs_of_their_own_and_their_exit_codes_come_back(
    server: ForkServer, tmp_path: Path
) -> None:
    with (tmp_path / "a.log").open("wb") as a_log, (tmp_path / "b.log").open("wb") as b_log:
        passes = server.spawn(job(tmp_path, "user-passes", "a"), a_log)
        fails = server.spawn(job(tmp_path, "user-fails", "b"), b_log)
    assert passes.wait(timeout=120) == 0, (tmp_path / "a.log").read_text()
    assert fails.wait(timeout=120) == 1, (tmp_path / "b.log").read_text()
    runs = {json.loads((tmp_path / f"{n}.json").read_text())["run_id"] for n in ("a", "b")}
    assert len(runs) == 2, "each forked worker is a run of its own"


def test_a_worker_that_cannot_start_its_job_exits_2_with_the_reason_on_its_stderr(
    server: ForkServer, tmp_path: Path
) -> None:
    with (tmp_path / "c.log").open("wb") as log:
        unknown = server.spawn(job(tmp_path, "no-such-scenario", "c"), log)
    assert unknown.wait(timeout=120) == 2
    assert "unknown scenario 'no-such-scenario'" in (tmp_path / "c.log").read_text()


def test_a_signal_reaches_the_forked_worker(server: ForkServer, tmp_path: Path) -> None:
    with (tmp_path / "d.log").open("wb") as log:
        waits = server.spawn(job(tmp_path, "user-waits", "d") + ["--slot"], log)
    waits.kill()
    assert waits.wait(timeout=60) == -9


def test_the_server_imports_the_catalogue_without_starting_a_thread_and_workers_keep_its_registrations() -> None:
    code = (
        "import os, sys\n"
        "from xmtpd_e2e.runner import forkserver\n"
        "forkserver._prepare()\n"
        "threads = len(os.listdir('/proc/self/task'))\n"
        "from xmtpd_e2e.runner.discovery import load_scenarios\n"
        "info = load_scenarios(from_source=True).get('chaos-node-pause')\n"
        "print(threads, info.func.__module__, info.setup is not None, 'web3' in sys.modules)\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert output == ["1", "xmtpd_e2e.scenarios.chaos_node_pause", "True", "True"], output
