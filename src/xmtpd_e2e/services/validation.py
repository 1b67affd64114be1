"""libxmtp's MLS validation service, which xmtpd nodes call to validate key packages and
identity updates (``XMTPD_MLS_VALIDATION_GRPC_ADDRESS``).

One per environment, started with the base services, before any node.  Ready when its HTTP
health check answers ``ok``.  It listens on every interface (the binary has no bind flag), which
on the local runtime's loopback mode is the host's: its ports are still the free ones the runtime
picked.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from xmtpd_e2e.errors import ServiceNotReady, SetupError
from xmtpd_e2e.runtime.base import RunningService, Runtime, ServiceSpec
from xmtpd_e2e.services.chain import ALIAS as CHAIN_ALIAS
from xmtpd_e2e.services.chain import ANVIL_PORT

__all__ = [
    "ValidationEndpoints",
    "start_validation",
    "validation_spec",
    "ALIAS",
    "PROGRAM",
    "GRPC_PORT",
    "HEALTH_PORT",
    "is_healthy",
]

ALIAS = "mls-validation"
PROGRAM = "mls-validation-service"
GRPC_PORT = 50051
HEALTH_PORT = 50052
_READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class ValidationEndpoints:
    service: RunningService
    internal_url: str
    """What nodes are given as ``XMTPD_MLS_VALIDATION_GRPC_ADDRESS``."""


def is_healthy(service: RunningService) -> bool:
    """Its ``GET /health`` answers ``ok`` (the readiness check; also what a handle reports)."""
    response = requests.get(service.host_url(service.spec.ports[1]) + "/health", timeout=2)
    return response.ok and response.text.strip() == "ok"


def validation_spec(runtime: Runtime, image: str) -> ServiceSpec:
    grpc_port = runtime.listen_port(ALIAS, GRPC_PORT)
    health_port = runtime.listen_port(ALIAS, HEALTH_PORT)
    return ServiceSpec(
        name=ALIAS,
        role="validation",
        image=image,
        command=(PROGRAM, "--port", str(grpc_port), "--health-check-port", str(health_port)),
        env={
            "RUST_LOG": "info",
            "NO_COLOR": "1",  # tracing colours its output unless told not to
            # Smart-contract-wallet signatures on chain 31337 are checked against this anvil; its
            # address is fixed before it starts, so the two can start together.
            "ANVIL_URL": f"http://{runtime.internal_address(CHAIN_ALIAS, ANVIL_PORT)}",
        },
        ports=(grpc_port, health_port),
        ready_check=is_healthy,
        ready_timeout=_READY_TIMEOUT,
    )


def start_validation(runtime: Runtime, image: str, origin: str) -> ValidationEndpoints:
    """Start it and wait for its health check; ``origin`` says where the binary or image came
    from, for the error when it never gets healthy (the wrong program, most likely)."""
    try:
        service = runtime.start(validation_spec(runtime, image))
    except ServiceNotReady as error:
        raise SetupError(
            f"the MLS validation service ({origin}) did not become healthy: {error}",
            "give a build of libxmtp's mls-validation-service (it must answer GET /health with ok on "
            "--health-check-port)",
        ) from error
    return ValidationEndpoints(service, f"http://{runtime.internal_address(ALIAS, GRPC_PORT)}")
