"""The integration fixtures' environment helper: a set-up that fails leaves no run record, and
nothing the record named, whichever step failed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from integration_environments import integration_config, started_environment
from leftovers import system_leftovers

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.registry import LOCAL


def _runs_created(monkeypatch: pytest.MonkeyPatch) -> list[RunState]:
    """Every run record created from here on (the helper does not hand it out when set-up fails)."""
    created: list[RunState] = []
    create = RunState.create

    def recording(home: Path, run_id: str | None = None) -> RunState:
        created.append(create(home, run_id))
        return created[-1]

    monkeypatch.setattr(RunState, "create", staticmethod(recording))
    return created


def test_a_runtime_that_cannot_be_created_leaves_no_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    config = replace(integration_config(tmp_path, LOCAL), home=home, local_network="no-such-mode")
    created = _runs_created(monkeypatch)
    with pytest.raises(SetupError, match="unknown local network mode"):
        with started_environment(config, tmp_path, "bad-network-mode"):
            pytest.fail("the environment started")
    assert len(created) == 1
    assert list(RunState.directory(home).iterdir()) == [], "a run record (or its directory) was left"


def test_an_environment_that_cannot_start_leaves_no_record_nor_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime exists (as root: a bridge and a FORWARD rule) when starting fails on Postgres."""
    home = tmp_path / "home"
    closed_port = "postgres://postgres:xmtp@127.0.0.1:9/postgres?sslmode=disable"
    config = replace(integration_config(tmp_path, LOCAL), home=home, postgres_dsn=closed_port)
    created = _runs_created(monkeypatch)
    with pytest.raises(SetupError):
        with started_environment(config, tmp_path, "no-postgres"):
            pytest.fail("the environment started")
    assert len(created) == 1
    assert list(RunState.directory(home).iterdir()) == [], "a run record (or its directory) was left"
    assert system_leftovers(created[0].run_id, home) == {}
