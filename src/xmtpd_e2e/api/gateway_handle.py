"""GatewayHandle: one xmtpd gateway -- lifecycle, chaos on its path, payer operations."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from xmtpd_e2e.api.service_faults import ServiceFaults
from xmtpd_e2e.api.service_lifecycle import ServiceLifecycle
from xmtpd_e2e.api.payer_operations import PayerOperations
from xmtpd_e2e.runtime.base import RunningService
from xmtpd_e2e.services.chaos import ChaosController, ProxyInfo
from xmtpd_e2e.timeline import Timeline

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.chain.client import Chain
    from xmtpd_e2e.chain.keys import Key

__all__ = ["GatewayHandle"]


class GatewayHandle(PayerOperations, ServiceLifecycle, ServiceFaults):
    """A gateway as a scenario sees it.  It is a payer: its key signs the payer envelopes."""

    def __init__(
        self,
        *,
        index: int,
        alias: str,
        key: Key,
        service: RunningService,
        proxy: ProxyInfo,
        chaos: ChaosController,
        chain: Chain,
        faults: EnvironmentFaults | None = None,
        logger: logging.Logger,
        timeline: Timeline | None = None,
    ) -> None:
        self._index = index
        self._alias = alias
        self._payer_key = key
        self._service = service
        self._proxy = proxy
        self._chaos = chaos
        self._chain = chain
        self._faults = faults
        self._log = logger
        self._timeline = timeline or Timeline()

    def __repr__(self) -> str:
        return f"GatewayHandle({self._alias}, {self._service.state().value})"

    @property
    def index(self) -> int:
        return self._index

    @property
    def alias(self) -> str:
        return self._alias

    @property
    def endpoint(self) -> str:
        """Host-reachable ``host:port`` of the gateway API, *through its proxy*, so chaos on the
        gateway affects the clients that publish through it."""
        host, port = self._chaos.host_address(self._proxy)
        return f"{host}:{port}"

    @property
    def direct_endpoint(self) -> str:
        """Host-reachable address of the gateway API bypassing toxiproxy."""
        host, port = self._service.host_address(self._service.spec.ports[0])
        return f"{host}:{port}"

    @property
    def key(self) -> Key:
        return self._payer_key

    @property
    def proxy(self) -> ProxyInfo:
        return self._proxy

    @property
    def service(self) -> RunningService:
        return self._service
