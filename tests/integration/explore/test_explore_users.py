"""Explore with real users, run as a user runs it: a short exploration with two libxmtp users in a
group passes and its record holds their sends and each member's deliveries; without the MLS
validation service, explore refuses before anything starts, says how to fix it, and leaves nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_runs import cli, explore_arguments, without_validation
from runtime_params import runtime_params


def explore(
    tmp_path: Path, *arguments: str, env: dict[str, str] | None = None, runtime: str = "local"
) -> subprocess.CompletedProcess[str]:
    return cli("explore", *arguments, *explore_arguments(tmp_path, runtime=runtime), env=env, timeout=900)


@pytest.mark.parametrize("runtime", runtime_params())
def test_two_users_in_a_group_send_through_an_exploration_and_every_text_reaches_the_other(
    tmp_path: Path, runtime: str
) -> None:
    plan = ("--seed", "3", "--users", "2", "--nodes", "2", "--readers", "0", "--faults", "none")
    images = ("--image-set", "local") if runtime == "kubernetes" else ()  # nothing can be pulled there
    result = explore(tmp_path, *plan, *images, "--max-publishers", "2", "--duration", "15", runtime=runtime)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = json.loads((tmp_path / "summary.json").read_text())["runs"]
    record = json.loads(Path(run["record"]).read_text())
    assert record["settings"]["generation"]["users"] == 2
    assert [u["name"] for u in record["workload"]["users"]] == ["u0", "u1"]
    planned = record["workload"]["user_sends"]
    users = record["history"]["users"]
    assert sorted(users["members"]) == ["u0", "u1"] and users["members"]["u0"] != users["members"]["u1"]
    sends = users["sends"]
    assert [s["text"] for s in sends] == [s["text"] for s in planned], "every planned send was made, in plan order"
    acknowledged = {s["text"]: s["user"] for s in sends if s["outcome"] == "ok"}
    assert len(acknowledged) >= len(planned) - 1, sends
    # Each member got every acknowledged text of the other, once.
    for member, other in (("u0", "u1"), ("u1", "u0")):
        got = [d["text"] for d in users["deliveries"] if d["member"] == member]
        wanted = [t for t, sender in acknowledged.items() if sender == other]
        assert sorted(got) == sorted(wanted), (member, got, wanted)
    stats = run["verdict"]["stats"]
    assert run["verdict"]["ok"], run["verdict"]["violations"]
    assert stats["user_sends"]["ok"] == len(acknowledged) and stats["user_deliveries"] == len(users["deliveries"])
    assert set(stats["user_lag_seconds"]) == {"u0", "u1"} and stats["users_caught_up_seconds"] is not None


def test_without_the_validation_service_explore_with_users_refuses_up_front(tmp_path: Path) -> None:
    result = explore(tmp_path, "--seed", "3", "--users", "2", "--duration", "10", env=without_validation())
    assert result.returncode == 2, result.stderr[-3000:]
    assert "explore with 2 users (seed 3) needs the mls-validation service" in result.stderr, result.stderr
    assert "--mls-validation-bin" in result.stderr and "XMTPD_E2E_MLS_VALIDATION_BIN" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "no record, summary or artifacts"
