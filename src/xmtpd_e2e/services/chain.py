"""The chain service: anvil loaded with the real XMTP contracts (settlement and app chain at once)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import requests

from xmtpd_e2e.runtime.base import RunningService, Runtime, ServiceSpec

__all__ = ["ChainEndpoints", "start_chain", "ANVIL_PORT", "anvil_state_path"]

ANVIL_PORT = 8545
ALIAS = "anvil"


def anvil_state_path() -> Path:
    """The shipped anvil state (contracts at the addresses of xmtpd's ``anvil`` environment)."""
    return Path(str(resources.files("xmtpd_e2e.chain").joinpath("data/anvil-state.json")))


@dataclass(frozen=True)
class ChainEndpoints:
    service: RunningService
    internal_rpc: str
    internal_ws: str
    host_rpc: str


def _answers_chain_id(service: RunningService) -> bool:
    response = requests.post(
        service.host_url(service.spec.ports[0]),
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        timeout=2,
    )
    return bool(response.ok and response.json().get("result") == hex(31337))


def start_chain(runtime: Runtime, image: str) -> ChainEndpoints:
    port = runtime.listen_port(ALIAS, ANVIL_PORT)
    state = anvil_state_path()
    spec = ServiceSpec(
        name=ALIAS,
        role="chain",
        image=image,
        command=(
            "anvil",
            "--host",
            runtime.bind_address,
            "--port",
            str(port),
            "--load-state",
            runtime.file_path(state),
            "--mixed-mining",
            "--block-time",
            "1",
        ),
        files=(state,),
        ports=(port,),
        ready_log="Listening on",
        ready_check=_answers_chain_id,
        ready_timeout=60,
    )
    service = runtime.start(spec)
    address = runtime.internal_address(ALIAS, ANVIL_PORT)
    return ChainEndpoints(
        service=service,
        internal_rpc=f"http://{address}",
        internal_ws=f"ws://{address}",
        host_rpc=service.host_url(port),
    )
