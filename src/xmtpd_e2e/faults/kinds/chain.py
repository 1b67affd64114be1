"""Faults of the chain (anvil) every node indexes and writes to: repeated reorganisations, mining
stalled, the base fee spiked, and one node's path to the chain slow.

The first three act on anvil itself (:mod:`xmtpd_e2e.faults.chain`) and so on every node at once.
Explore may draw them: the node the schedule names is only where it files them.  The slow path
is one node's, steered through a toxiproxy proxy like the database's
(:mod:`xmtpd_e2e.faults.steered_path`).  None of them lives in a node's process, so each
outlives a restart of a node.  One-shot events (a single reorg, a jump of the chain's clock)
are instants of ``env.chain_faults``, not lasting faults.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import E2EError, ServiceError
from xmtpd_e2e.faults.chain import Anvil, BaseFeeSpike
from xmtpd_e2e.faults.controller import Piece
from xmtpd_e2e.faults.registry import FaultKind, FaultPlan, Param, register
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.faults.steered_path import SlowPathKind, destroy_connections

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["ChainReorgs", "ChainStall", "ChainBaseFeeSpike", "ChainSlow", "anvil_of"]

CHAIN_TARGET = "chain"


def anvil_of(env: Environment) -> Anvil:
    """anvil's RPC as the framework reaches it."""
    service = env.chain_service
    return Anvil(service.host_url(service.spec.ports[0]))


class _ChainWide(FaultKind):
    """A fault of the chain itself: drawn by explore like a node's, applied to the chain."""

    roles = frozenset({"chain", "node"})

    def draw(self, rng: random.Random, target: str, aliases: Sequence[str]) -> dict[str, Any]:
        return {param.name: rng.choice(param.draws) for param in self.params if param.draws}


class Reorgs:
    """A reorg of ``depth`` every ``every_s`` seconds until removed."""

    def __init__(self, anvil: Anvil, depth: int, every_s: float, keep_transactions: bool) -> None:
        self.anvil, self.depth, self.every_s, self.keep = anvil, depth, every_s, keep_transactions
        self.count = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def install(self) -> None:
        # anvil keeps no state for the blocks it loaded at start, and refuses to reorg down to
        # them ("Required data unavailable"): on a young chain, wait for blocks of its own.
        wait_until(
            self._reorg,
            lambda done: True,
            timeout=60,
            description=f"anvil to accept a reorg of depth {self.depth}",
            swallow=(ServiceError,),
        )
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="chain-reorgs", daemon=True)
        self._thread.start()

    def _reorg(self) -> None:
        self.anvil.reorg(min(self.depth, self.anvil.block_number()), keep_transactions=self.keep)
        self.count += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self._reorg()
            except ServiceError:
                continue  # anvil busy or restarting: the next round tries again

    def remove(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


@register
class ChainReorgs(_ChainWide):
    name = "chain-reorgs"
    description = (
        "anvil_reorg replaces the last `depth` blocks every `every_s` seconds (their transactions mined again "
        "in the new blocks, or dropped with drop=True) until healed"
    )
    params = (
        Param("depth", int, "blocks replaced by each reorg", draws=(1, 3, 6)),
        Param("every_s", float, "seconds between reorgs", draws=(2.0, 5.0)),
        Param("drop", bool, "drop the replaced blocks' transactions instead of mining them again", default=False),
    )

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        depth, every_s = int(params.get("depth") or 0), float(params.get("every_s") or 0)
        if depth < 1 or every_s <= 0:
            raise E2EError(f"chain-reorgs needs depth >= 1 and every_s > 0, got depth={depth}, every_s={every_s}")
        drop = bool(params.get("drop", False))
        reorgs = Reorgs(anvil_of(faults.env), depth, every_s, keep_transactions=not drop)
        verb = "dropped" if drop else "mined again"
        piece = Piece(
            f"anvil: reorg of depth {depth} every {every_s:g} s, transactions {verb}",
            reorgs.install,
            reorgs.remove,
            CHAIN_TARGET,
        )
        return FaultPlan([piece], (CHAIN_TARGET,), {"depth": depth, "every_s": every_s, "drop": drop})


@register
class ChainStall(_ChainWide):
    name = "chain-stall"
    description = (
        "anvil mines nothing (automine and interval mining off); healed with a block a second (anvil cannot "
        "restore --mixed-mining, so a transaction then waits up to 1 s for its block)"
    )
    params = ()

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        anvil = anvil_of(faults.env)
        piece = Piece(
            "anvil: mining stopped",
            anvil.stall,
            anvil.resume_mining,
            CHAIN_TARGET,
            present=lambda: not anvil.mining(),
        )
        return FaultPlan([piece], (CHAIN_TARGET,), {})


@register
class ChainBaseFeeSpike(_ChainWide):
    name = "chain-base-fee-spike"
    description = "every block's base fee held at `gwei` (set again before each block) until healed"
    params = (Param("gwei", int, "the base fee of every block while in force", draws=(100, 1000, 10000)),)

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        gwei = int(params.get("gwei") or 0)
        if gwei <= 0:
            raise E2EError(f"chain-base-fee-spike needs a positive gwei, got {gwei}")
        spike = BaseFeeSpike(anvil_of(faults.env), gwei * 10**9)
        piece = Piece(f"anvil: base fee {gwei} gwei", spike.install, spike.remove, CHAIN_TARGET)
        return FaultPlan([piece], (CHAIN_TARGET,), {"gwei": gwei})


@register
class ChainSlow(SlowPathKind):
    name = "chain-slow"
    description = (
        "every response on the node's chain connections (RPC and subscriptions) late by latency_ms: steered "
        "(DNAT in its namespace) through a toxiproxy proxy of their own; its open ones destroyed (ss -K) to re-dial"
    )
    what, tag, latency_draws = "chain", "CHPATH", (200, 1000, 3000)

    def destination(self, faults: EnvironmentFaults) -> tuple[str, int]:
        anvil = faults.env.chain_service
        address = anvil.network_address()
        if address is None:
            raise E2EError("anvil has no address on the environment's network; its path cannot be steered")
        return address, anvil.spec.ports[0]

    def reset(self, faults: EnvironmentFaults, node: NodeHandle, destination: tuple[str, int]) -> Callable[[str], None]:
        address, port = destination
        return lambda namespace: destroy_connections(namespace, address, port)
