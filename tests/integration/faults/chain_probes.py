"""Probing the chain from outside the nodes: anvil's blocks as the framework sees them, and the
way to anvil from inside one node's namespace."""

from __future__ import annotations

import subprocess
import sys
import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.faults.kinds.chain import anvil_of

__all__ = ["reorganised_within", "stalled_for", "base_fee_at_least", "chain_round_trip"]

_RPC = """
import json, sys, time, urllib.request
began = time.monotonic()
request = urllib.request.Request(sys.argv[1], data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId",
    "params": []}).encode(), headers={"content-type": "application/json"})
urllib.request.urlopen(request, timeout=20).read()
print(time.monotonic() - began)
"""


def reorganised_within(env: Environment, seconds: float) -> bool:
    """Whether any of the last three blocks is replaced (a new hash at its height) within
    ``seconds``; blocks keep coming once a second, so a reorg soon after may not reach lower."""
    anvil = anvil_of(env)
    head = anvil.block_number()
    before = {height: anvil.block(height)["hash"] for height in range(max(0, head - 2), head + 1)}
    time.sleep(seconds)
    return any(anvil.block(height)["hash"] != digest for height, digest in before.items())


def stalled_for(env: Environment, seconds: float) -> bool:
    """Whether no block is mined in ``seconds`` (anvil mines one a second when healthy)."""
    anvil = anvil_of(env)
    before = anvil.block_number()
    time.sleep(seconds)
    return anvil.block_number() == before


def base_fee_at_least(env: Environment, wei: int) -> bool:
    """Whether the next block's base fee is at least ``wei`` (waits for one block)."""
    time.sleep(1.2)
    return anvil_of(env).base_fee() >= wei


def chain_round_trip(env: Environment, node: NodeHandle) -> float:
    """Seconds for one JSON-RPC call to anvil from inside the node's namespace, at the address the
    node dials (so through whatever path the node's own connections take)."""
    anvil = env.chain_service
    namespace = node.service.network_namespace()
    assert namespace is not None and anvil.network_address() is not None
    url = f"http://{anvil.network_address()}:{anvil.spec.ports[0]}"
    done = subprocess.run(
        ["nsenter", f"--net={namespace}", sys.executable, "-c", _RPC, url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip())
