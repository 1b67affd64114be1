"""The CLI as a user starts it (``python -m xmtpd_e2e.cli.main``), for integration tests that
judge a whole run from outside: its exit code, its JSON results, what it leaves behind when
interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.record import RunState

__all__ = [
    "CLI",
    "cli",
    "run_arguments",
    "explore_arguments",
    "without_validation",
    "run_to_json",
    "new_run_state",
    "interrupt",
]

CLI = [sys.executable, "-m", "xmtpd_e2e.cli.main"]
T = TypeVar("T")


def cli(
    *arguments: str, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``xmtpd-e2e <arguments>``, run to its end, output captured as text."""
    return subprocess.run([*CLI, *arguments], capture_output=True, text=True, timeout=timeout, env=env, check=False)


def run_arguments(
    tests: Sequence[str], folder: Path, *, runtime: str = "local", scenarios: Path | None = None
) -> list[str]:
    """``run`` of ``tests`` with artifacts in ``folder/artifacts`` and JSON results in
    ``folder/result.json``."""
    arguments = ["run", "--runtime", runtime]
    if scenarios is not None:
        arguments += ["--scenarios", str(scenarios)]
    for test in tests:
        arguments += ["--test", test]
    arguments += ["--artifacts", str(folder / "artifacts"), "--output-format", "json"]
    return [*arguments, "--output-file", str(folder / "result.json")]


def explore_arguments(folder: Path, *, runtime: str = "local") -> list[str]:
    """``explore`` options every test gives: no shrinking, records in ``folder/records``,
    artifacts in ``folder/artifacts`` and the JSON summary in ``folder/summary.json``."""
    return [
        "--no-shrink",
        "--runtime",
        runtime,
        "--record-dir",
        str(folder / "records"),
        "--artifacts",
        str(folder / "artifacts"),
        "--output-format",
        "json",
        "--output-file",
        str(folder / "summary.json"),
    ]


def without_validation() -> dict[str, str]:
    """This process's environment with no MLS validation service to be found: no
    ``XMTPD_E2E_MLS_VALIDATION_BIN`` and a PATH of the system's folders and this Python's."""
    env = {k: v for k, v in os.environ.items() if k != "XMTPD_E2E_MLS_VALIDATION_BIN"}
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin"
    return env


def run_to_json(
    tests: Sequence[str],
    folder: Path,
    *extra: str,
    scenarios: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """The finished run and each scenario's outcome by name (``{}`` when it wrote no results)."""
    done = cli(*run_arguments(tests, folder, scenarios=scenarios), *extra, env=env)
    results = folder / "result.json"
    if not results.exists():
        return done, {}
    return done, {s["name"]: s for s in json.loads(results.read_text())["scenarios"]}


def new_run_state(
    home: Path,
    process: subprocess.Popen[bytes],
    known: set[Path],
    found: Callable[[RunState], T | None],
    *,
    what: str,
    timeout: float = 180,
) -> T:
    """What ``found`` makes of the state of the run ``process`` started (a state file not in
    ``known``), once it makes something of it; the run must not end first."""

    def probe() -> T | None:
        assert process.poll() is None, "the run ended before it could be interrupted"
        for path in set(RunState.directory(home).glob("*.json")) - known:
            try:
                state = RunState.load(path)
            except (OSError, ValueError, KeyError):
                continue
            if state.pid == process.pid:
                return found(state)
        return None

    result = wait_until(probe, lambda value: value is not None, timeout=timeout, description=what, max_interval=0.05)
    assert result is not None
    return result


def interrupt(
    process: subprocess.Popen[bytes],
    signum: signal.Signals,
    run_id: str,
    results: Path,
    *,
    killed: Callable[[], None] = lambda: None,
) -> None:
    """Send ``signum`` to the run and check it ended as a user expects: SIGINT and SIGTERM exit
    128+signal with the scenario INTERRUPTED; after SIGKILL (and ``killed()``, which may check
    what the dead run left) ``xmtpd-e2e cleanup --run`` succeeds."""
    try:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if signum == signal.SIGKILL:
        killed()
        cleanup = cli("cleanup", "--run", run_id, timeout=120)
        assert cleanup.returncode == 0, cleanup.stderr
        return
    assert process.returncode == 128 + signum, stderr.decode(errors="replace")[-2000:]
    outcome = json.loads(results.read_text())["scenarios"][0]
    assert outcome["status"] == "INTERRUPTED", outcome
    assert signum.name in (outcome.get("error") or ""), outcome
