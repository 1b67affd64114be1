"""An xmtpd gateway (the ``gateway`` binary / ``ghcr.io/xmtp/xmtpd-gateway`` image).

A gateway holds ``XMTPD_PAYER_PRIVATE_KEY``: it signs the payer envelopes of the client envelopes
it forwards, so it -- not the client -- is the payer charged by the nodes.  It needs Redis and
no database.  Unlike upstream's E2E we shorten its node-registry refresh (default 60 s) so a
gateway learns about nodes added after it started within seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from xmtpd_e2e.runtime.base import Runtime, ServiceSpec
from xmtpd_e2e.services.chain import ChainEndpoints
from xmtpd_e2e.services.node import READY_LOG, accepts_connections
from xmtpd_e2e.services.redis import RedisEndpoints
from xmtpd_e2e.services.xmtpd_env import chain_env, merge_env

__all__ = ["GatewayConfig", "gateway_spec", "GATEWAY_API_PORT"]

GATEWAY_API_PORT = 5050

_DEFAULTS = {
    "XMTPD_API_ENABLE": "true",
    "XMTPD_SETTLEMENT_CHAIN_NODE_REGISTRY_REFRESH_INTERVAL": "2s",
}


@dataclass(frozen=True)
class GatewayConfig:
    index: int
    alias: str
    payer_private_key: str
    image: str
    env_overrides: Mapping[str, str] = field(default_factory=dict)


def gateway_spec(runtime: Runtime, config: GatewayConfig, chain: ChainEndpoints, redis: RedisEndpoints) -> ServiceSpec:
    port = runtime.listen_port(config.alias, GATEWAY_API_PORT)
    enforced = {
        "XMTPD_API_PORT": str(port),
        "XMTPD_PAYER_PRIVATE_KEY": config.payer_private_key,
        "XMTPD_REDIS_URL": redis.internal_url,
        # Each gateway keeps its own nonce-manager keys, so gateways sharing Redis never collide.
        "XMTPD_REDIS_KEY_PREFIX": f"xmtpd:{config.alias}:",
    }
    return ServiceSpec(
        name=config.alias,
        role="gateway",
        image=config.image,
        command=("gateway",),
        env=merge_env({**_DEFAULTS, **chain_env(chain)}, dict(config.env_overrides), enforced),
        ports=(port,),
        ready_log=READY_LOG,
        ready_check=accepts_connections,
        ready_timeout=120,
    )
