"""An xmtpd node (the ``replication`` binary / ``ghcr.io/xmtp/xmtpd`` image)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from xmtpd_e2e.runtime.base import RunningService, Runtime, ServiceSpec
from xmtpd_e2e.services.chain import ChainEndpoints
from xmtpd_e2e.services.postgres import dsn_with
from xmtpd_e2e.services.xmtpd_env import chain_env, merge_env

__all__ = [
    "NodeConfig",
    "node_spec",
    "database_dsn",
    "NODE_API_PORT",
    "NODE_COMMAND",
    "READY_LOG",
    "NO_VALIDATION_SERVICE",
    "accepts_connections",
]

NODE_API_PORT = 5050
READY_LOG = "started api server"

# Shortened worker intervals, as upstream's E2E uses, so payer reports move in minutes.
_DEFAULTS = {
    "XMTPD_API_ENABLE": "true",
    "XMTPD_INDEXER_ENABLE": "true",
    "XMTPD_SYNC_ENABLE": "true",
    "XMTPD_SETTLEMENT_CHAIN_NODE_REGISTRY_REFRESH_INTERVAL": "2s",
    "XMTPD_PAYER_REPORT_RUN_WORKERS": "true",
    "XMTPD_PAYER_REPORT_GENERATE_REPORT_SELF_PERIOD": "2m",
    "XMTPD_PAYER_REPORT_GENERATE_REPORT_OTHERS_PERIOD": "2m",
    "XMTPD_PAYER_REPORT_ATTESTATION_WORKER_POLL_INTERVAL": "10s",
    "XMTPD_PAYER_REPORT_EXPIRY_SELF_PERIOD": "5m",
    "XMTPD_PAYER_REPORT_EXPIRY_OTHERS_PERIOD": "5m",
}

NO_VALIDATION_SERVICE = "http://127.0.0.1:1"
"""The validation address of nodes in an environment without the service: nothing answers there.
Envelopes that need validation (key packages, identity updates) then fail; the framework's own
group-message envelopes never ask for it, and xmtpd's client connects lazily, so nodes start."""
NODE_COMMAND = ("replication",)
"""The node program (upstream's image has it as its entrypoint)."""


@dataclass(frozen=True)
class NodeConfig:
    node_id: int
    alias: str
    signer_private_key: str
    image: str
    db_name: str
    version: str
    env_overrides: Mapping[str, str] = field(default_factory=dict)
    mls_validation_url: str = NO_VALIDATION_SERVICE
    """The environment's MLS validation service (``services.validation``), if it has one."""


def accepts_connections(service: RunningService) -> bool:
    host, port = service.host_address(service.spec.ports[0])
    with socket.create_connection((host, port), timeout=2):
        return True


def database_dsn(runtime: Runtime, admin_dsn: str) -> str:
    """``admin_dsn`` as a service of ``runtime`` reaches it (the host's Postgres, from a
    namespace or container)."""
    db_host, db_port = runtime.reach_host_port(urlsplit(admin_dsn).port or 5432)
    return dsn_with(admin_dsn, host=db_host, port=db_port)


def node_spec(runtime: Runtime, config: NodeConfig, chain: ChainEndpoints, admin_dsn: str) -> ServiceSpec:
    port = runtime.listen_port(config.alias, NODE_API_PORT)
    defaults = {
        **_DEFAULTS,
        **chain_env(chain),
        "VERSION": config.version,
        "XMTPD_MLS_VALIDATION_GRPC_ADDRESS": config.mls_validation_url,
    }
    enforced = {
        "XMTPD_API_PORT": str(port),
        "XMTPD_SIGNER_PRIVATE_KEY": config.signer_private_key,
        "XMTPD_DB_WRITER_CONNECTION_STRING": database_dsn(runtime, admin_dsn),
        "XMTPD_DB_NAME_OVERRIDE": config.db_name,
    }
    return ServiceSpec(
        name=config.alias,
        role="node",
        image=config.image,
        command=NODE_COMMAND,
        env=merge_env(defaults, dict(config.env_overrides), enforced),
        ports=(port,),
        ready_log=READY_LOG,
        ready_check=accepts_connections,
        ready_timeout=120,
    )
