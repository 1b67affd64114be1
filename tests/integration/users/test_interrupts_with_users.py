"""A run with real users, interrupted while its users exist, leaves nothing behind: no client
database, no process, nothing of the cluster (SIGINT and SIGTERM by themselves, SIGKILL after
``xmtpd-e2e cleanup --run``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from leftovers import system_leftovers

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.infra.validation import find_validation_bin
from xmtpd_e2e.record import RunState

pytestmark = pytest.mark.integration


def _users_database(home: Path, process: subprocess.Popen[bytes], known: set[Path]) -> tuple[RunState, Path]:
    """The run's state and its first client database, once one exists."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be interrupted"
        for path in set(RunState.directory(home).glob("*.json")) - known:
            try:
                state = RunState.load(path)
            except (OSError, ValueError, KeyError):
                continue
            if state.pid == process.pid:
                databases = list(RunState.directory(home).glob(f"{state.run_id}*/*/users/*.db3"))
                if databases:
                    return state, databases[0]
        time.sleep(0.05)
    raise AssertionError("the run never had a user")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_run_interrupted_while_its_users_exist_leaves_nothing(tmp_path: Path, signum: signal.Signals) -> None:
    config = RunConfig()
    validation = find_validation_bin(config)
    if validation is None:
        pytest.fail("set XMTPD_E2E_MLS_VALIDATION_BIN to libxmtp's mls-validation-service")
    known = set(RunState.directory(config.home).glob("*.json"))
    output = tmp_path / "result.json"
    command = [sys.executable, "-m", "xmtpd_e2e.cli.main", "run", "--test", "xmtp-group-chat", "--runtime", "local"]
    command += ["--artifacts", str(tmp_path / "artifacts"), "--output-format", "json", "--output-file", str(output)]
    environment = {**os.environ, "XMTPD_E2E_MLS_VALIDATION_BIN": str(validation)}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment)
    try:
        state, database = _users_database(config.home, process, known)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    if signum == signal.SIGKILL:
        cleanup = subprocess.run(
            [sys.executable, "-m", "xmtpd_e2e.cli.main", "cleanup", "--run", state.run_id],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cleanup.returncode == 0, cleanup.stderr
    else:
        assert process.returncode == 128 + signum, stderr.decode(errors="replace")[-2000:]
        outcome = json.loads(output.read_text())["scenarios"][0]
        assert outcome["status"] == "INTERRUPTED", outcome

    assert not database.exists(), f"{database} is left behind"
    assert system_leftovers(state.run_id, config.home, config.postgres_dsn) == {}
    assert not state.path.exists()
