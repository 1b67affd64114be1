"""A pip user's set-up: the built wheel, in a fresh virtual environment, reaches every component.

No source tree, no ``scripts/setup``: the package is built as a wheel, installed into a new venv
(its dependencies from the package index), and ``xmtpd-e2e infra install`` is run from there.
On this machine the components are already installed (by ``scripts/setup``, which now calls the
same command), so the install only checks them and starts what is not running -- which is what
a second run on a user's machine does too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xmtpd_e2e.versions import ANVIL_VERSION, TOXIPROXY_VERSION, XMTPD_VERSION

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)


def test_a_wheel_in_a_fresh_venv_sets_the_machine_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
        tmp_path,
        env,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((tmp_path / "dist").glob("xmtpd_e2e-*.whl"))
    assert len(wheels) == 1, wheels

    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env).returncode == 0
    installed = _run([str(venv / "bin" / "pip"), "install", "-q", str(wheels[0])], tmp_path, env)
    assert installed.returncode == 0, installed.stderr[-3000:]
    command = str(venv / "bin" / "xmtpd-e2e")
    where = _run([str(venv / "bin" / "python"), "-c", "import xmtpd_e2e; print(xmtpd_e2e.__file__)"], tmp_path, env)
    assert where.stdout.startswith(str(venv)), where.stdout  # the wheel's copy, not the source tree

    helped = _run([command, "infra", "install", "--help"], tmp_path, env)
    assert helped.returncode == 0 and "Debian packages" in helped.stdout, helped.stdout + helped.stderr

    checked = _run([command, "infra", "install", "--check"], tmp_path, env)
    assert checked.returncode == 0, checked.stderr
    for component in (
        f"xmtpd {XMTPD_VERSION}: installed",
        f"toxiproxy {TOXIPROXY_VERSION}: installed",
        f"anvil {ANVIL_VERSION}: installed",
        "everything is installed",
    ):
        assert component in checked.stderr, checked.stderr

    done = _run([command, "infra", "install", "--no-docker"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert f"xmtpd {XMTPD_VERSION}: installed" in done.stderr and "postgres:" in done.stderr, done.stderr
    assert done.stderr.rstrip().endswith("ready"), done.stderr
    listed = _run([command, "list"], tmp_path, env)
    assert listed.returncode == 0 and "smoke" in listed.stdout
