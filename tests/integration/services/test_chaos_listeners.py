"""Toxiproxy takes any number of proxies, and the host reaches one created after it started."""

from __future__ import annotations

import requests

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.services.chain import ANVIL_PORT


def test_more_proxies_than_the_old_sixteen_slots_each_reachable_from_the_host(any_env: Environment) -> None:
    chaos = any_env._chaos
    assert chaos is not None
    upstream = any_env.runtime.internal_address("anvil", ANVIL_PORT)
    proxies = [chaos.create_proxy(f"extra-{i}", upstream) for i in range(24)]
    assert len({p.internal_address for p in proxies}) == 24
    for proxy in (proxies[0], proxies[-1]):
        host, port = chaos.host_address(proxy)
        answer = requests.post(
            f"http://{host}:{port}", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=10
        )
        assert answer.json()["result"] == hex(31337)
