"""Interrupting a real run at different moments leaves nothing behind.

A run is started as a user would start it (``xmtpd-e2e run --test smoke``), then signalled while
it is setting up or while its cluster is running.  SIGINT and SIGTERM must tear everything down
by themselves; after SIGKILL, ``xmtpd-e2e cleanup --run`` must.  "Nothing" is checked against the
system itself, not against the run's own records: processes carrying the run marker, Docker
containers and networks labelled with the run id, and Postgres databases named after it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
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
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be interrupted"
        for path in set(RunState.directory(home).glob("*.json")) - known:
            try:
                state = RunState.load(path)
            except (OSError, ValueError, KeyError):
                continue
            if state.pid != process.pid:
                continue
            resources = state.resources()
            nodes = [r for r in resources if r.kind in ("process", "container") and "node-" in r.ident]
            if (phase == "setup" and resources) or (phase == "cluster" and len(nodes) >= 3):
                return state
        time.sleep(0.02)
    raise AssertionError(f"the run never reached {phase!r}")


@pytest.mark.parametrize(("runtime", "signum", "phase"), CASES, ids=[f"{r}-{s.name}-{p}" for r, s, p in CASES])
def test_interrupted_run_leaves_nothing(tmp_path: Path, runtime: str, signum: signal.Signals, phase: str) -> None:
    config = RunConfig()
    known = set(RunState.directory(config.home).glob("*.json"))
    output = tmp_path / "result.json"
    command = [
        sys.executable,
        "-m",
        "xmtpd_e2e.cli.main",
        "run",
        "--test",
        "smoke",
        "--runtime",
        runtime,
        "--image-set",
        "local",
        "--artifacts",
        str(tmp_path / "artifacts"),
        "--output-format",
        "json",
        "--output-file",
        str(output),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        state = _wait_for_phase(process, config.home, known, phase)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    if signum == signal.SIGKILL:
        assert _leftovers(state.run_id, config), "a killed run should leave something to clean"
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
        assert signum.name in (outcome.get("error") or ""), outcome

    assert _leftovers(state.run_id, config) == {}
    assert not state.path.exists(), "the run's state file should be gone once everything is removed"
