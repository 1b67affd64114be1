"""A run with real users, interrupted while its users exist, leaves nothing behind: no client
database, no process, nothing of the cluster (SIGINT and SIGTERM by themselves, SIGKILL after
``xmtpd-e2e cleanup --run``)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from cli_runs import CLI, interrupt, new_run_state, run_arguments
from leftovers import system_leftovers

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.infra.validation import find_validation_bin
from xmtpd_e2e.record import RunState

pytestmark = pytest.mark.integration


def _users_database(home: Path, process: subprocess.Popen[bytes], known: set[Path]) -> tuple[RunState, Path]:
    """The run's state and its first client database, once one exists."""

    def first_database(state: RunState) -> tuple[RunState, Path] | None:
        databases = list(RunState.directory(home).glob(f"{state.run_id}*/*/users/*.db3"))
        return (state, databases[0]) if databases else None

    return new_run_state(home, process, known, first_database, what="the run to have a user", timeout=240)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_run_interrupted_while_its_users_exist_leaves_nothing(tmp_path: Path, signum: signal.Signals) -> None:
    config = RunConfig()
    validation = find_validation_bin(config)
    if validation is None:
        pytest.fail("set XMTPD_E2E_MLS_VALIDATION_BIN to libxmtp's mls-validation-service")
    known = set(RunState.directory(config.home).glob("*.json"))
    command = [*CLI, *run_arguments(["xmtp-group-chat"], tmp_path)]
    environment = {**os.environ, "XMTPD_E2E_MLS_VALIDATION_BIN": str(validation)}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment)
    try:
        state, database = _users_database(config.home, process, known)
    except BaseException:
        process.kill()
        process.wait()
        raise

    interrupt(process, signum, state.run_id, tmp_path / "result.json")
    assert not database.exists(), f"{database} is left behind"
    assert system_leftovers(state.run_id, config.home, config.postgres_dsn) == {}
    assert not state.path.exists()
