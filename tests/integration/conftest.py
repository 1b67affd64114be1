"""Fixtures starting real components: environments on either runtime, a bare anvil."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration_environments import integration_config, started_environment
from runtime_params import runtime_params
import requests

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.infra.binaries import resolve_binary
from xmtpd_e2e.runtime.ports import PortAllocator
from xmtpd_e2e.runtime.registry import LOCAL
from xmtpd_e2e.services.chain import anvil_state_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(params=runtime_params())
def any_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Environment]:
    with started_environment(integration_config(tmp_path, request.param), tmp_path, request.node.name[:20]) as env:
        yield env


@pytest.fixture()
def local_env(tmp_path: Path) -> Iterator[Environment]:
    with started_environment(integration_config(tmp_path, LOCAL), tmp_path, "local") as env:
        yield env


@pytest.fixture()
def anvil_url() -> Iterator[str]:
    """A bare anvil with the shipped state on a free loopback port."""
    port = PortAllocator().allocate()
    process = subprocess.Popen(
        [
            str(resolve_binary("anvil")),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--load-state",
            str(anvil_state_path()),
            "--mixed-mining",
            "--block-time",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1).ok:
                    break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.kill()
        process.wait()
