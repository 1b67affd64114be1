from pathlib import Path

import pytest

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.record import RunState
from xmtpd_e2e.services.postgres import Databases, dsn_with

DSN = "postgres://postgres:xmtp@127.0.0.1:8765/postgres?sslmode=disable"


def test_dsn_with_replaces_host_and_database() -> None:
    assert dsn_with(DSN, host="host.docker.internal") == (
        "postgres://postgres:xmtp@host.docker.internal:8765/postgres?sslmode=disable"
    )
    assert dsn_with(DSN, database="e2e_x") == "postgres://postgres:xmtp@127.0.0.1:8765/e2e_x?sslmode=disable"


def test_names_carry_run_and_environment(tmp_path: Path) -> None:
    state = RunState.create(tmp_path, "rabcdef12")
    databases = Databases(DSN, state, "e3")
    assert databases.name_for("node-100") == "e2e_rabcdef12_e3_node_100"
    assert databases.name_for("gateway-0") == "e2e_rabcdef12_e3_gateway_0"


def test_too_long_names_are_refused_clearly(tmp_path: Path) -> None:
    databases = Databases(DSN, RunState.create(tmp_path, "rabcdef12"), "e3")
    with pytest.raises(SetupError, match="32-character"):
        databases.name_for("a-very-long-alias-for-a-node")
