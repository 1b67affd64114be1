"""``--parallel`` workers receive the run's settings as data, unchanged."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from xmtpd_e2e.config import RunConfig, local_images
from xmtpd_e2e.runner.slots import RELEASED
from xmtpd_e2e.runner.worker import WorkerJob, worker_command


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


def test_a_paced_worker_runs_only_when_given_its_slot_and_says_when_it_gives_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tests = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(tests), os.environ.get("PYTHONPATH", "")) if p))
    monkeypatch.setenv("XMTPD_E2E_ENVIRONMENT_FACTORY", "unit.runner.fakes:factory")
    monkeypatch.setenv("XMTPD_E2E_TEST_EVENTS", str(tmp_path / "events.jsonl"))

    def paced(given: bytes, name: str) -> tuple[subprocess.CompletedProcess[bytes], dict[str, object]]:
        job = WorkerJob(
            RunConfig(home=tmp_path / "home"), "user-passes", ("unit.cli.user_scenarios",), tmp_path / f"{name}.json"
        )
        done = subprocess.run(
            worker_command(job, tmp_path / f"{name}.job.json", paced=True),
            input=given,
            capture_output=True,
            timeout=120,
        )
        return done, json.loads(job.output.read_text())["scenarios"][0]

    never, outcome = paced(b"", "never")
    assert outcome["status"] == "INTERRUPTED" and RELEASED.encode() in never.stdout.splitlines(), never.stderr.decode()
    given, outcome = paced(b"go\n", "given")
    assert given.returncode == 0 and outcome["status"] == "PASS", given.stderr.decode()
    assert RELEASED.encode() in given.stdout.splitlines()
