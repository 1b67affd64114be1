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
    """Whether any block is replaced (a new hash at a height already seen) within ``seconds``.

    The last three blocks are read every 0.2 s and each height's first-seen hash kept: a single
    snapshot compared once at the end misses a reorg that only replaced blocks mined after it,
    which on a loaded machine is most of them.  A block gone from a height the head had already
    passed counts too: anvil never takes a block back except in a reorganisation, and one caught
    between rolling back and mining again answers "no block" (seen in a clean-clone run)."""
    anvil = anvil_of(env)
    seen: dict[int, str] = {}
    deadline = time.monotonic() + seconds
    while True:
        head = anvil.block_number()
        for height in range(max(0, head - 2), head + 1):
            block = anvil.call("eth_getBlockByNumber", hex(height), False)
            if not isinstance(block, dict):
                return True
            digest = block["hash"]
            if seen.setdefault(height, digest) != digest:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


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
