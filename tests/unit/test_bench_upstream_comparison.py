"""The upstream comparison refuses clearly when no upstream binary can run (none can be had here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "upstream_comparison.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "XMTPD_E2E_UPSTREAM_BIN"}
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, env=env, timeout=120)


def test_without_an_upstream_binary_it_exits_2_saying_why_and_what_to_do() -> None:
    result = _run()
    assert result.returncode == 2, result.stderr
    assert "upstream comparison refused" in result.stderr and "403" in result.stderr
    assert "--upstream-bin" in result.stderr and "Traceback" not in result.stderr


def test_a_path_that_is_not_an_executable_is_refused_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "xmtpd-e2e"
    result = _run("--upstream-bin", str(missing))
    assert result.returncode == 2 and f"--upstream-bin {missing} is not an executable file" in result.stderr
