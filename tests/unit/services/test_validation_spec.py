"""The validation service's spec, and the address nodes get with and without it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from xmtpd_e2e.runtime.base import RunningService, Runtime, ServiceSpec
from xmtpd_e2e.services.chain import ChainEndpoints
from xmtpd_e2e.services.node import NO_VALIDATION_SERVICE, NodeConfig, node_spec
from xmtpd_e2e.services.validation import GRPC_PORT, HEALTH_PORT, is_healthy, validation_spec


class _Loopback(Runtime):
    """Addressing as the local runtime's loopback mode does it: a port per (service, port)."""

    name = "fake"
    run_id = "r"
    env_id = "e1"
    log_dir = Path("/nonexistent")

    @property
    def host_gateway(self) -> str:
        return "127.0.0.1"

    def listen_port(self, service: str, port: int) -> int:
        return 40000 + port % 1000

    def internal_address(self, service: str, port: int) -> str:
        return f"127.0.0.1:{self.listen_port(service, port)}"

    def start(self, spec: ServiceSpec) -> RunningService:
        raise NotImplementedError

    def services(self) -> Mapping[str, RunningService]:
        return {}

    def close(self, *, fast: bool = False) -> None:
        pass


def test_spec_runs_the_logical_program_on_the_runtimes_ports_with_its_health_check() -> None:
    runtime = _Loopback()
    spec = validation_spec(runtime, "img")
    grpc, health = runtime.listen_port("mls-validation", GRPC_PORT), runtime.listen_port("x", HEALTH_PORT)
    assert spec.command == ("mls-validation-service", "--port", str(grpc), "--health-check-port", str(health))
    assert spec.ports == (grpc, health)  # gRPC first: what faults and handles address
    assert spec.ready_check is is_healthy and spec.name == "mls-validation" and spec.image == "img"
    assert spec.env["ANVIL_URL"] == f"http://{runtime.internal_address('anvil', 8545)}"  # the environment's chain


def _node_env(**config: str) -> Mapping[str, str]:
    chain = ChainEndpoints(service=None, internal_rpc="http://a:1", internal_ws="ws://a:1", host_rpc="")  # type: ignore[arg-type]
    node = NodeConfig(
        node_id=100, alias="node-100", signer_private_key="0x1", image="i", db_name="d", version="v", **config
    )
    return node_spec(_Loopback(), node, chain, "postgres://u:p@127.0.0.1:5432/x").env


def test_nodes_get_the_services_address_or_one_nothing_answers_on() -> None:
    assert _node_env()["XMTPD_MLS_VALIDATION_GRPC_ADDRESS"] == NO_VALIDATION_SERVICE
    given = _node_env(mls_validation_url="http://127.0.0.1:40051")
    assert given["XMTPD_MLS_VALIDATION_GRPC_ADDRESS"] == "http://127.0.0.1:40051"


def test_its_log_lines_are_uncoloured_and_land_on_the_reports_clock() -> None:
    from xmtpd_e2e.report.logs import parse_log

    spec = validation_spec(_Loopback(), "img")
    assert spec.env["NO_COLOR"] == "1"  # else every line starts with escape codes
    line = "2026-12-06T22:54:00.526589Z  INFO mls_validation_service: Starting health check on port 50052"
    (parsed,) = parse_log("mls-validation", line)
    assert parsed.level.upper().startswith("INFO") and parsed.time is not None
