"""xmtpd-e2e: end-to-end tests for real xmtpd clusters.

A scenario is a function of an :class:`Environment`; everything a test author needs is here::

    from xmtpd_e2e import Environment, scenario

    @scenario("my-test", "what it verifies", suites=("fast",))
    def my_test(env: Environment) -> None:
        env.add_nodes(3)
        ...
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xmtpd_e2e.api.client_handle import ClientHandle
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.api.gateway_handle import GatewayHandle
    from xmtpd_e2e.api.node_handle import NodeHandle
    from xmtpd_e2e.api.require import Require
    from xmtpd_e2e.chain.client import RateOptions
    from xmtpd_e2e.chain.units import format_xusd, xusd
    from xmtpd_e2e.chain.errors import ContractRevert
    from xmtpd_e2e.client.errors import PublishError
    from xmtpd_e2e.client.traffic import TrafficGenerator
    from xmtpd_e2e.errors import CheckFailed, E2EError, ServiceError, ServiceNotReady, SetupError, WaitTimeout
    from xmtpd_e2e.runner.scenario import scenario

# Resolved on first use, so `xmtpd-e2e --help` and `list` don't pay for web3 and gRPC imports.
_HOMES = {
    "ClientHandle": "xmtpd_e2e.api.client_handle",
    "Environment": "xmtpd_e2e.api.environment",
    "GatewayHandle": "xmtpd_e2e.api.gateway_handle",
    "NodeHandle": "xmtpd_e2e.api.node_handle",
    "Require": "xmtpd_e2e.api.require",
    "RateOptions": "xmtpd_e2e.chain.client",
    "format_xusd": "xmtpd_e2e.chain.units",
    "xusd": "xmtpd_e2e.chain.units",
    "CheckFailed": "xmtpd_e2e.errors",
    "ContractRevert": "xmtpd_e2e.chain.errors",
    "E2EError": "xmtpd_e2e.errors",
    "PublishError": "xmtpd_e2e.client.errors",
    "ServiceError": "xmtpd_e2e.errors",
    "ServiceNotReady": "xmtpd_e2e.errors",
    "SetupError": "xmtpd_e2e.errors",
    "TrafficGenerator": "xmtpd_e2e.client.traffic",
    "WaitTimeout": "xmtpd_e2e.errors",
    "scenario": "xmtpd_e2e.runner.scenario",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'xmtpd_e2e' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
