"""``--parallel`` workers receive the run's settings as data, unchanged."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from xmtpd_e2e.config import RunConfig, local_images
from xmtpd_e2e.runner.worker import WorkerJob, spare_worker_command, worker_command, write_job


def test_every_setting_survives_the_trip_through_json(tmp_path: Path) -> None:
    config = RunConfig(
        runtime="local",
        images=replace(local_images("v9.9.9"), chain="my/chain:1"),
        xmtpd_bin=tmp_path / "node",
        home=tmp_path / "home",
        artifacts_dir=tmp_path / "art",
        artifacts_always=True,
        scenario_timeout=42.0,
        timeout_given=True,
        log_level="debug",
        log_encoding="json",
        xmtpd_version="v9.9.9",
    )
    job = WorkerJob(config, "smoke", ("my.module", "./x.py"), tmp_path / "out.json")
    command = worker_command(job, tmp_path / "job.json")
    assert command[-1] == str(tmp_path / "job.json")
    assert WorkerJob.from_json(json.loads((tmp_path / "job.json").read_text())) == job


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown run settings: colour"):
        RunConfig.from_json({**RunConfig().to_json(), "colour": "blue"})


def test_a_spare_worker_exits_quietly_when_no_job_comes_and_runs_the_one_it_is_given(tmp_path: Path) -> None:
    unused = subprocess.run(spare_worker_command(), input=b"", capture_output=True, timeout=120)
    assert unused.returncode == 0, unused.stderr.decode()
    job = WorkerJob(RunConfig(home=tmp_path / "home"), "no-such-scenario", (), tmp_path / "out.json")
    write_job(job, tmp_path / "job.json")
    given = subprocess.run(spare_worker_command(), input=f"{tmp_path / 'job.json'}\n".encode(), capture_output=True)
    assert given.returncode == 2 and b"unknown scenario 'no-such-scenario'" in given.stderr, given.stderr.decode()
