"""Interrupting a real run at different moments leaves nothing behind.

A run is started as a user would start it (``xmtpd-e2e run --test smoke``), then signalled while
it is setting up or while its cluster is running.  SIGINT and SIGTERM must tear everything down
by themselves; after SIGKILL, ``xmtpd-e2e cleanup --run`` must.  "Nothing" is checked against the
system itself, not against the run's own records: processes carrying the run marker, Docker
containers and networks labelled with the run id, and Postgres databases named after it.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from cli_runs import CLI, interrupt, new_run_state, run_arguments
from leftovers import system_leftovers

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.registry import DOCKER, LOCAL

CASES = [
    (LOCAL, signal.SIGINT, "setup"),
    (LOCAL, signal.SIGINT, "cluster"),
    (LOCAL, signal.SIGTERM, "setup"),
    (LOCAL, signal.SIGTERM, "cluster"),
    (LOCAL, signal.SIGKILL, "setup"),
    (LOCAL, signal.SIGKILL, "cluster"),
    (DOCKER, signal.SIGINT, "cluster"),
    (DOCKER, signal.SIGTERM, "setup"),
    (DOCKER, signal.SIGKILL, "cluster"),
]


def _leftovers(run_id: str, config: RunConfig) -> dict[str, list[str]]:
    return system_leftovers(run_id, config.home, config.postgres_dsn)


def _wait_for_phase(process: subprocess.Popen[bytes], home: Path, known: set[Path], phase: str) -> RunState:
    """The run's state once it reaches ``phase``: any resource (setup) or three nodes (cluster)."""

    def reached(state: RunState) -> RunState | None:
        resources = state.resources()
        nodes = [r for r in resources if r.kind in ("process", "container") and "node-" in r.ident]
        return state if (phase == "setup" and resources) or (phase == "cluster" and len(nodes) >= 3) else None

    return new_run_state(home, process, known, reached, what=f"the run to reach {phase!r}")


@pytest.mark.parametrize(("runtime", "signum", "phase"), CASES, ids=[f"{r}-{s.name}-{p}" for r, s, p in CASES])
def test_interrupted_run_leaves_nothing(tmp_path: Path, runtime: str, signum: signal.Signals, phase: str) -> None:
    config = RunConfig()
    known = set(RunState.directory(config.home).glob("*.json"))
    command = [*CLI, *run_arguments(["smoke"], tmp_path, runtime=runtime), "--image-set", "local"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        state = _wait_for_phase(process, config.home, known, phase)
    except BaseException:
        process.kill()
        process.wait()
        raise

    def something_to_clean() -> None:
        assert _leftovers(state.run_id, config), "a killed run should leave something to clean"

    interrupt(process, signum, state.run_id, tmp_path / "result.json", killed=something_to_clean)
    assert _leftovers(state.run_id, config) == {}
    assert not state.path.exists(), "the run's state file should be gone once everything is removed"
