"""Faults of the chain itself, through anvil's own RPC: reorganisations, stalled mining, a base
fee spike, time jumps.  anvil is the settlement and the app chain at once, so every node sees
each of these together.

What anvil 1.7.1 really does (checked against the binary the framework installs):

* ``anvil_reorg(depth, pairs)`` replaces the last ``depth`` blocks with new ones (new hashes, the
  same height).  Transactions of the replaced blocks that are not in ``pairs`` are gone: no
  receipt, not in the pool.  :meth:`Anvil.reorg` either drops them (a fork that never had them)
  or mines them again at the same offsets (the usual reorg: same transactions, new blocks).
* ``evm_setAutomine(false)`` plus ``evm_setIntervalMining(0)`` stops all mining: transactions
  wait in the pool.  anvil has no call that restores ``--mixed-mining`` (a block per transaction
  *and* one per second).  ``evm_setAutomine(true)`` drops interval mining, and
  ``evm_setIntervalMining(1)`` drops automine.  So a stall is healed with one block per second,
  and a transaction then waits up to a second for its block.
* ``anvil_setNextBlockBaseFeePerGas`` sets the base fee of the *next* block only.  Empty blocks
  then let it fall 12.5 % a block, so a spike that must last is set again before every block.
  It jumps at once, which no EIP-1559 chain does, so the spike counts as in force only once a
  block carries it (whoever priced a transaction from the block before would be refused).
* ``evm_increaseTime`` moves the chain's clock forward for every later block; it cannot go back.
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from xmtpd_e2e.errors import ServiceError
from xmtpd_e2e.polling import wait_until

__all__ = ["Anvil", "BaseFeeSpike"]


class Anvil:
    """anvil's JSON-RPC, for faults (the framework's chain client keeps to what a real chain has)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._session = requests.Session()
        self._session.trust_env = False

    def call(self, method: str, *params: Any) -> Any:
        try:
            response = self._session.post(
                self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
            )
            body = response.json()
        except (requests.RequestException, ValueError) as error:
            raise ServiceError(f"anvil {method} failed: {error}") from error
        if "error" in body:
            raise ServiceError(f"anvil {method} refused: {body['error'].get('message', body['error'])}")
        return body.get("result")

    def block(self, number: int | str = "latest", *, full: bool = False) -> dict[str, Any]:
        tag = hex(number) if isinstance(number, int) else number
        found = self.call("eth_getBlockByNumber", tag, full)
        if not isinstance(found, dict):
            raise ServiceError(f"anvil has no block {number}")
        return found

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    # -- reorganisations --------------------------------------------------------------------
    def reorg(self, depth: int, *, keep_transactions: bool) -> list[str]:
        """Replace the last ``depth`` blocks; returns the hashes of the transactions that were in
        them.  ``keep_transactions``: mine them again at the same offsets, else drop them."""
        head = self.block_number()
        if depth < 1 or depth > head:
            raise ServiceError(f"a reorg of depth {depth} needs 1 <= depth <= {head} (the chain's height)")
        pairs: list[list[Any]] = []
        hashes: list[str] = []
        for offset, number in enumerate(range(head - depth + 1, head + 1)):
            for tx in self.block(number, full=True).get("transactions", []):
                hashes.append(str(tx["hash"]))
                if keep_transactions:
                    pairs.append([self.call("eth_getRawTransactionByHash", tx["hash"]), offset])
        self.call("anvil_reorg", depth, pairs)
        return hashes

    # -- mining -----------------------------------------------------------------------------
    def stall(self) -> None:
        self.call("evm_setAutomine", False)
        self.call("evm_setIntervalMining", 0)

    def resume_mining(self) -> None:
        self.call("evm_setIntervalMining", 1)

    def mining(self) -> bool:
        """Whether anvil mines on its own (by transaction or by interval)."""
        return bool(self.call("anvil_getAutomine")) or bool(self.call("anvil_getIntervalMining"))

    # -- fees and time ----------------------------------------------------------------------
    def base_fee(self) -> int:
        return int(self.block()["baseFeePerGas"], 16)

    def set_next_base_fee(self, wei: int) -> None:
        self.call("anvil_setNextBlockBaseFeePerGas", hex(wei))

    def increase_time(self, seconds: int) -> None:
        """Every later block is ``seconds`` later; one block is mined at once to show it."""
        self.call("evm_increaseTime", seconds)
        self.call("evm_mine")


class BaseFeeSpike:
    """Every block's base fee at ``wei`` while in force (set again before each block, twice a
    block interval); healing sets the next block's back to what it was and lets it be."""

    def __init__(self, anvil: Anvil, wei: int, interval_s: float = 0.4) -> None:
        self.anvil = anvil
        self.wei = wei
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._before: int | None = None

    def install(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        if self._before is None:
            self._before = self.anvil.base_fee()
        self.anvil.set_next_base_fee(self.wei)
        self._stop.clear()
        self._thread = threading.Thread(target=self._hold, name="base-fee-spike", daemon=True)
        self._thread.start()
        # In force once a block carries it: a client prices from the latest block (commonly at
        # twice its base fee), and a jump no real chain makes (EIP-1559 moves 12.5 % a block)
        # would otherwise only refuse the next transaction of whoever priced before the block.
        wait_until(
            self.anvil.base_fee,
            lambda fee: fee >= self.wei,
            timeout=30,
            description=f"a block with the base fee at {self.wei} wei",
        )

    def _hold(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.anvil.set_next_base_fee(self.wei)
            except ServiceError:
                continue  # anvil restarting or busy: the next round sets it again

    def remove(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._before is not None:
            self.anvil.set_next_base_fee(self._before)

    def in_force(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
