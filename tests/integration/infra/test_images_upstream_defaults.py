"""The locally built images stand in for upstream's: run as upstream's framework runs them.

Upstream's E2E (``pkg/e2e``) starts toxiproxy, anvil (the contracts image) and Redis with no
arguments, registers a node with the CLI image's own flags, and starts nodes and gateways with
environment variables only.  Each image here is run exactly so, on a network of its own, and must
serve: toxiproxy's API on 8474, the contracts on 8545, Redis on 6379, a registered node and a
gateway up to ``started api server``.  The framework's own services pass explicit command lines,
which other tests cover.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import docker
import psycopg
import pytest
import requests
from docker.models.containers import Container
from docker.models.networks import Network

from xmtpd_e2e.chain.contracts import addresses
from xmtpd_e2e.chain.keys import ANVIL_PRIVATE_KEYS, Key
from xmtpd_e2e.config import Images, RunConfig, local_images
from xmtpd_e2e.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.docker]

LABEL = "xmtpd-e2e.test"
CHAIN_URL = "http://anvil:8545"


@dataclass
class Sandbox:
    """One network and the containers on it, all labelled with the test's id."""

    client: docker.DockerClient
    ident: str
    network: Network
    images: Images = field(default_factory=lambda: local_images(RunConfig().xmtpd_version))

    def run(self, image: str, alias: str, **options: object) -> Container:
        container = self.client.containers.create(
            image,
            name=f"{self.ident}-{alias}",
            labels={LABEL: self.ident},
            extra_hosts={"host.docker.internal": "host-gateway"},
            **options,  # type: ignore[arg-type]
        )
        self.network.connect(container, aliases=[alias])
        container.start()
        return container

    def address(self, container: Container) -> str:
        container.reload()
        return str(container.attrs["NetworkSettings"]["Networks"][self.network.name]["IPAddress"])

    def cli(self, *arguments: str) -> None:
        """``xmtpd-cli`` with upstream's global flags; it must exit 0, as upstream requires."""
        admin = ANVIL_PRIVATE_KEYS[0]
        common = ["--environment=anvil", f"--private-key={admin}", f"--settlement-rpc-url={CHAIN_URL}"]
        container = self.run(self.images.cli, f"cli-{uuid.uuid4().hex[:6]}", command=[*common, *arguments])
        try:
            code = container.wait(timeout=60)["StatusCode"]
            assert code == 0, container.logs().decode(errors="replace")[-2000:]
        finally:
            container.remove(force=True)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    client = docker.from_env()
    ident = f"xmtpd-e2e-image-defaults-{uuid.uuid4().hex[:8]}"
    network = client.networks.create(ident, labels={LABEL: ident})
    try:
        yield Sandbox(client, ident, network)
    finally:
        for container in client.containers.list(all=True, filters={"label": f"{LABEL}={ident}"}):
            container.remove(force=True)
        network.remove()
        client.close()


def _logs_and_status(container: Container) -> tuple[str, str]:
    container.reload()
    return container.logs().decode(errors="replace"), container.status


def _serves_logs(container: Container, line: str, timeout: float) -> None:
    """Waits for ``line`` in the logs; a container that exits first fails with its logs."""
    wait_until(
        lambda: _logs_and_status(container),
        lambda seen: line in seen[0] or seen[1] == "exited",
        timeout=timeout,
        description=f"{container.name} to log {line!r}",
    )
    logs = container.logs().decode(errors="replace")
    assert line in logs, logs[-3000:]


def _rpc(url: str, method: str, params: list[object]) -> object:
    response = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=2)
    return response.json()["result"]


def test_toxiproxy_redis_and_chain_images_serve_with_no_arguments(sandbox: Sandbox) -> None:
    toxiproxy = sandbox.run(sandbox.images.toxiproxy, "toxiproxy")
    redis = sandbox.run(sandbox.images.redis, "redis")
    chain = sandbox.run(sandbox.images.chain, "anvil")
    version = wait_until(
        lambda: requests.get(f"http://{sandbox.address(toxiproxy)}:8474/version", timeout=2),
        lambda response: response.ok,
        timeout=60,
        description="toxiproxy's API on 0.0.0.0:8474",
        swallow=(requests.RequestException,),
    )
    assert version.text.strip(), "toxiproxy's /version answered nothing"
    _serves_logs(redis, "Ready to accept connections", 30)
    with socket.create_connection((sandbox.address(redis), 6379), timeout=5) as connection:
        connection.sendall(b"PING\r\n")
        assert connection.recv(100) == b"+PONG\r\n"
    _serves_logs(chain, "Listening on", 60)
    rpc = f"http://{sandbox.address(chain)}:8545"
    assert _rpc(rpc, "eth_chainId", []) == hex(31337)
    registry = addresses()["nodeRegistry"]
    assert len(str(_rpc(rpc, "eth_getCode", [registry, "latest"]))) > 2, "the contracts image holds no NodeRegistry"


def test_a_node_and_a_gateway_start_as_upstreams_framework_starts_them(sandbox: Sandbox) -> None:
    sandbox.run(sandbox.images.chain, "anvil")
    sandbox.run(sandbox.images.redis, "redis")
    wait_until(
        lambda: sandbox.client.containers.get(f"{sandbox.ident}-anvil").logs(),
        lambda logs: b"Listening on" in logs,
        timeout=60,
        description="anvil to listen",
    )
    node_key, gateway_key = Key.from_hex(ANVIL_PRIVATE_KEYS[5]), Key.from_hex(ANVIL_PRIVATE_KEYS[2])
    sandbox.cli(
        "nodes",
        "register",
        f"--owner-address={node_key.address}",
        f"--signing-key-pub={node_key.public_key_compressed}",
        "--http-address=http://node-100:5050",
    )
    sandbox.cli("nodes", "canonical-network", "--add", "--node-id=100")
    chain = {
        "XMTPD_CONTRACTS_ENVIRONMENT": "anvil",
        "XMTPD_SETTLEMENT_CHAIN_WSS_URL": "ws://anvil:8545",
        "XMTPD_APP_CHAIN_WSS_URL": "ws://anvil:8545",
        "XMTPD_SETTLEMENT_CHAIN_RPC_URL": CHAIN_URL,
        "XMTPD_APP_CHAIN_RPC_URL": CHAIN_URL,
        "XMTPD_DB_WRITER_CONNECTION_STRING": "postgres://postgres:xmtp@host.docker.internal:8765/postgres?sslmode=disable",
        "XMTPD_MLS_VALIDATION_GRPC_ADDRESS": "http://host.docker.internal:60051",
        "XMTPD_API_ENABLE": "true",
        "XMTPD_INDEXER_ENABLE": "true",
    }
    database = "e2e_image_defaults_" + sandbox.ident[-8:]  # xmtpd takes names of at most 32 characters
    try:
        node = sandbox.run(
            sandbox.images.xmtpd,
            "node-100",
            environment={
                **chain,
                "XMTPD_SYNC_ENABLE": "true",
                "XMTPD_SIGNER_PRIVATE_KEY": node_key.private_key,
                "XMTPD_DB_NAME_OVERRIDE": database,
            },
        )
        gateway = sandbox.run(
            sandbox.images.gateway,
            "gateway-0",
            environment={
                **chain,
                "XMTPD_SIGNER_PRIVATE_KEY": gateway_key.private_key,
                "XMTPD_PAYER_PRIVATE_KEY": gateway_key.private_key,
                "XMTPD_REDIS_URL": "redis://redis:6379/0",
            },
        )
        _serves_logs(node, "started api server", 120)
        _serves_logs(gateway, "started api server", 120)
    finally:
        with psycopg.connect(RunConfig().postgres_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
