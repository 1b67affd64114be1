"""The README's quick-start commands, parsed out of README.md and run exactly as written.

Whatever the README's "Quick start" shows after ``xmtpd-e2e list`` / ``xmtpd-e2e run`` is run here
against the real components, on the machine ``scripts/setup`` prepared, and must exit 0.  The
suites those commands name are cut to the smoke scenario with ``XMTPD_E2E_TEST=smoke`` (the
environment variable of ``--test``, which the command line does not mention), so the test takes
minutes, not an hour; everything else -- runtime and image choice, flags, output -- is as written.
A passing run must also leave nothing in the directory it ran in but the results it was asked for.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def quick_start_commands() -> list[str]:
    text = README.read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            command = re.split(r"\s+#", line, maxsplit=1)[0].strip()
            if re.match(r"xmtpd-e2e (list|run)\b", command):
                commands.append(command)
    return commands


def test_the_quick_start_names_list_and_run() -> None:
    commands = quick_start_commands()
    assert any(c.startswith("xmtpd-e2e list") for c in commands), commands
    assert "xmtpd-e2e run --test smoke" in commands, commands


@pytest.mark.parametrize("command", quick_start_commands())
def test_readme_command_works_as_written(command: str, tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "XMTPD_E2E_TEST": "smoke",
    }
    result = subprocess.run(
        shlex.split(command), cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{command}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    if command.startswith("xmtpd-e2e run"):
        asked = {Path(p) for p in re.findall(r"--output-file (\S+)", command)}
        left = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
        assert left == asked, f"a passing run left {sorted(map(str, left - asked))} in its directory"


def _run_readme_scenario(section_title: str, name: str, tmp_path: Path) -> None:
    """Write the first python block of the README's ``section_title`` section to a module and run
    scenario ``name`` from it on the local runtime; it must pass."""
    section = README.read_text().split(f"## {section_title}", 1)[1].split("\n## ", 1)[0]
    module = tmp_path / "readme_scenario.py"
    module.write_text(re.findall(r"```python\n(.*?)```", section, flags=re.S)[0])
    command = [
        sys.executable,
        "-m",
        "xmtpd_e2e.cli.main",
        "run",
        "--scenarios",
        str(module),
        "--test",
        name,
        "--runtime",
        "local",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"


def test_the_writing_a_scenario_example_runs_as_written(tmp_path: Path) -> None:
    """The scenario module shown under "Writing a scenario" passes against a real cluster."""
    _run_readme_scenario("Writing a scenario", "my-test", tmp_path)


def test_the_real_users_example_runs_as_written(tmp_path: Path) -> None:
    """The real-users scenario under "Real XMTP users" passes against a real cluster (it needs the
    MLS validation service: XMTPD_E2E_MLS_VALIDATION_BIN, as `make test` documents)."""
    _run_readme_scenario("Real XMTP users", "my-chat", tmp_path)
