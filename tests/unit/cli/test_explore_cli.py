"""``xmtpd-e2e explore`` input errors: exit 2, the problem named, nothing started."""

from __future__ import annotations

from pathlib import Path

from .test_cli import cli, home  # noqa: F401  (home is a fixture)


def test_a_malformed_node_override_is_a_usage_error(home: dict[str, str]) -> None:  # noqa: F811
    result = cli("explore", "--node-env", "300-XMTPD_SYNC_ENABLE", env=home)
    assert result.returncode == 2
    assert "should look like 300:XMTPD_SYNC_ENABLE=false" in result.stderr


def test_an_unknown_fault_kind_is_a_usage_error_listing_the_known_ones(home: dict[str, str]) -> None:  # noqa: F811
    result = cli("explore", "--faults", "latency,flood", env=home)
    assert result.returncode == 2
    assert "unknown fault kind(s) flood" in result.stderr and "kill" in result.stderr


def test_a_replay_file_that_is_not_a_record_is_a_setup_error(home: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    bogus = tmp_path / "results.json"
    bogus.write_text('{"schema_version": 1}')
    result = cli("explore", "--replay", str(bogus), env=home)
    assert result.returncode == 2
    assert "is not an explore record" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr
