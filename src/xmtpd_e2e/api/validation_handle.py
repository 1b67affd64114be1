"""``env.validation``: the environment's MLS validation service, as a scenario sees it.

Nodes call it for every key package and identity update they are asked to store, so stopping,
killing or pausing it (or ``env.cut(node, "validation")``) is how a scenario takes validation
away from the cluster; :meth:`ValidationHandle.start` brings it back at the same address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from xmtpd_e2e.api.service_faults import ServiceFaults
from xmtpd_e2e.api.service_lifecycle import ServiceLifecycle
from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.infra.validation import ValidationSource, validation_source, validation_unavailable
from xmtpd_e2e.runtime.base import RunningService, Runtime
from xmtpd_e2e.services.validation import ValidationEndpoints, is_healthy, start_validation
from xmtpd_e2e.timeline import Timeline

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults

__all__ = ["ValidationHandle", "VALIDATION", "validation_starter", "missing_validation"]

VALIDATION = "validation"
"""Its name as a fault participant (``env.cut(100, "validation")``) and in ``pause``."""


class ValidationHandle(ServiceLifecycle, ServiceFaults):
    """Lifecycle and faults of the validation service (pause, packet loss... from ServiceFaults)."""

    def __init__(
        self,
        endpoints: ValidationEndpoints,
        *,
        faults: EnvironmentFaults | None,
        logger: logging.Logger,
        timeline: Timeline,
    ) -> None:
        self._alias = VALIDATION
        self._endpoints = endpoints
        self._faults = faults
        self._log = logger
        self._timeline = timeline

    def __repr__(self) -> str:
        return f"ValidationHandle({self.service.spec.name}, {self.state().value})"

    @property
    def service(self) -> RunningService:
        return self._endpoints.service

    @property
    def internal_url(self) -> str:
        """The address nodes are given (``XMTPD_MLS_VALIDATION_GRPC_ADDRESS``)."""
        return self._endpoints.internal_url

    @property
    def endpoint(self) -> str:
        """Host-reachable ``host:port`` of its gRPC API (re-read: it may change on restart)."""
        host, port = self.service.host_address(self.service.spec.ports[0])
        return f"{host}:{port}"

    def healthy(self) -> bool:
        """Its health check answers ``ok`` now (False when it does not answer at all)."""
        try:
            return is_healthy(self.service)
        except Exception:  # refused, reset, timed out: not healthy
            return False

    @property
    def _event_name(self) -> str:
        return self.service.spec.name

    def kill(self) -> None:
        """SIGKILL, as in a crash."""
        self.stop(kill=True)


def validation_starter(
    config: RunConfig, runtime: Runtime, logger: logging.Logger
) -> Callable[[], ValidationEndpoints | None]:
    """What ``Environment.start`` runs beside the other base services: the service from the run's
    source (an image built from the binary first, on docker), or nothing when none is configured.
    An unusable binary that was given raises here, before anything starts."""
    source = validation_source(config, runs_images=runtime.runs_images)
    if source is None:
        logger.info("no MLS validation service configured; nodes get an address nothing answers on")
        return lambda: None
    return lambda: _start(source, runtime)


def _start(source: ValidationSource, runtime: Runtime) -> ValidationEndpoints:
    if source.image is None:
        return start_validation(runtime, "", f"binary {source.binary}")
    if source.builds_image and runtime.name == "docker":
        from xmtpd_e2e.infra.images import build_validation_image

        assert source.binary is not None
        build_validation_image(source.binary)
    origin = f"image {source.image}" + (f", built from {source.binary}" if source.builds_image else "")
    return start_validation(runtime, source.image, origin)


def missing_validation(config: RunConfig, runtime: Runtime) -> E2EError:
    """The error ``env.validation`` raises in an environment without the service."""
    problem = validation_unavailable(config, runs_images=runtime.runs_images)
    if problem is None:
        return E2EError("the MLS validation service is not started (the environment is not started?)")
    return problem
