"""One-shot chain events, as ``env.chain_faults``: a single reorganisation, a jump of the chain's
clock.  Each is an instant on the timeline; nothing heals them (a chain does not un-reorg, and
its clock never goes back).  Lasting chain faults -- repeated reorgs, stalled mining, a base fee
spike, one node's slow chain path -- are registry kinds (:mod:`xmtpd_e2e.faults.kinds.chain`),
applied with ``env.faults.apply``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xmtpd_e2e.errors import E2EError, ServiceError
from xmtpd_e2e.faults.kinds.chain import anvil_of

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment

__all__ = ["ChainFaults"]


class ChainFaults:
    """See module docstring."""

    def __init__(self, env: Environment) -> None:
        self._env = env

    def reorg(self, depth: int, *, keep_transactions: bool = True) -> list[str]:
        """Replace the chain's last ``depth`` blocks with new ones now; returns the hashes of the
        transactions they held, mined again in the new blocks (``keep_transactions``) or gone."""
        if depth < 1:
            raise E2EError(f"a reorg needs a depth of at least 1 block, got {depth}")
        try:
            hashes = anvil_of(self._env).reorg(depth, keep_transactions=keep_transactions)
        except ServiceError as error:
            raise E2EError(
                f"the chain refused a reorg of depth {depth}: {error} (anvil keeps no state for the blocks it "
                "loaded at start, so a reorg must stay within blocks mined since)"
            ) from error
        self._env.timeline.instant(
            "fault", "chain-reorg", ("chain",), depth=depth, transactions=len(hashes), kept=keep_transactions
        )
        self._env.log.info(
            "chain reorg of depth %d (%d transactions %s)",
            depth,
            len(hashes),
            "kept" if keep_transactions else "dropped",
        )
        return hashes

    def jump_time(self, seconds: int) -> int:
        """Move the chain's clock ``seconds`` forward (one block is mined at once); returns the
        new head's timestamp.  Nodes' own clocks do not move."""
        if seconds < 1:
            raise E2EError(f"the chain's clock only moves forward: seconds must be at least 1, got {seconds}")
        anvil = anvil_of(self._env)
        anvil.increase_time(seconds)
        stamp = int(anvil.block()["timestamp"], 16)
        self._env.timeline.instant("fault", "chain-time-jump", ("chain",), seconds=seconds, block_timestamp=stamp)
        return stamp
