"""Sending transactions: simulate, sign, send, wait for the receipt, decode reverts.

Every transaction is first simulated with ``eth_call`` so a revert surfaces as a typed
:class:`ContractRevert` with the custom error's name and arguments (a mined failed transaction
carries no reason).  Nonces are taken from the pending state under a per-sender lock; because a
node's key is also used by the node itself for its own transactions (it submits and settles payer
reports with it), a nonce
clash is retried with a fresh nonce.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.types import Nonce, TxParams, TxReceipt

from xmtpd_e2e.chain.contracts import ContractErrorDecoder
from xmtpd_e2e.chain.errors import ContractRevert
from xmtpd_e2e.chain.keys import Key
from xmtpd_e2e.errors import E2EError

__all__ = ["TransactionSender", "SentTransaction", "GAS_LIMIT"]

GAS_LIMIT = 5_000_000
RECEIPT_TIMEOUT = 30.0
_NONCE_CLASHES = ("nonce too low", "replacement transaction underpriced", "already known")


@dataclass(frozen=True)
class SentTransaction:
    receipt: TxReceipt
    result: Any
    """What the function returned when simulated just before sending."""


class TransactionSender:
    def __init__(self, w3: Web3) -> None:
        self._w3 = w3
        self._decoder = ContractErrorDecoder()
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._chain_id: int | None = None

    def call(self, contract: str, fn: ContractFunction, sender: str | None = None) -> Any:
        """A read-only call, with reverts decoded."""
        try:
            return fn.call({"from": sender} if sender else {})
        except (ContractCustomError, ContractLogicError) as exc:
            raise self._revert(contract, fn, exc) from None

    def send(self, contract: str, fn: ContractFunction, key: Key, value: int = 0) -> SentTransaction:
        """Send ``fn`` signed by ``key``; returns the receipt and the simulated return value."""
        return self.send_many(contract, [fn], key, value)[0]

    def send_many(
        self, contract: str, fns: Sequence[ContractFunction], key: Key, value: int = 0
    ) -> list[SentTransaction]:
        """Send every function of ``fns``, in order, signed by ``key`` with consecutive nonces,
        and only then wait for the receipts: one round of confirmations instead of one per
        transaction (registering 50 nodes).  Each call is simulated first against the current
        state, so each must be valid on its own, not only after the ones before it."""
        simulated = [self.call_as(contract, fn, key.address, value) for fn in fns]
        fees = self._fees()
        hashes = []
        with self._locks[key.address]:
            nonce = self._pending_nonce(key)
            for fn in fns:
                for attempt in range(4):
                    try:
                        hashes.append(self._submit(fn, key, value, nonce, fees))
                        break
                    except Web3RPCError as exc:
                        if attempt < 3 and any(m in str(exc).lower() for m in _NONCE_CLASHES):
                            nonce = self._pending_nonce(key)
                            continue
                        raise E2EError(f"{contract}.{fn.fn_name} was not accepted: {exc}") from exc
                nonce += 1
        sent = []
        for fn, tx_hash, result in zip(fns, hashes, simulated, strict=True):
            receipt = self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.05)
            if receipt["status"] != 1:
                self.call_as(contract, fn, key.address, value, block=receipt["blockNumber"])
                raise E2EError(f"{contract}.{fn.fn_name} failed in block {receipt['blockNumber']} (no revert reason)")
            sent.append(SentTransaction(receipt, result))
        return sent

    def _pending_nonce(self, key: Key) -> int:
        return int(self._w3.eth.get_transaction_count(key.address, "pending"))  # type: ignore[arg-type]

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self._w3.eth.chain_id)
        return self._chain_id

    def _fees(self) -> tuple[int, int]:
        """(max fee, priority fee) per gas for the transactions about to be sent, asked once per
        batch rather than once per transaction: twice the latest base fee plus the tip, the
        rule web3 applies itself."""
        priority = int(self._w3.eth.max_priority_fee)
        base = int(self._w3.eth.get_block("latest").get("baseFeePerGas", 0))
        return 2 * base + priority, priority

    def _submit(self, fn: ContractFunction, key: Key, value: int, nonce: int, fees: tuple[int, int]) -> Any:
        params: TxParams = {
            "from": key.address,
            "nonce": Nonce(nonce),
            "gas": GAS_LIMIT,
            "value": value,  # type: ignore[typeddict-item]
            "chainId": self.chain_id,
            "maxFeePerGas": fees[0],  # type: ignore[typeddict-item]
            "maxPriorityFeePerGas": fees[1],  # type: ignore[typeddict-item]
        }
        signed = self._w3.eth.account.sign_transaction(fn.build_transaction(params), key.private_key)
        return self._w3.eth.send_raw_transaction(signed.raw_transaction)

    def call_as(
        self, contract: str, fn: ContractFunction, sender: str, value: int = 0, block: int | None = None
    ) -> Any:
        try:
            params: dict[str, Any] = {"from": sender, "value": value, "gas": GAS_LIMIT, "chainId": self.chain_id}
            return fn.call(params, block_identifier=block if block is not None else "latest")  # type: ignore[arg-type]
        except (ContractCustomError, ContractLogicError) as exc:
            raise self._revert(contract, fn, exc) from None

    def _revert(self, contract: str, fn: ContractFunction, exc: Exception) -> ContractRevert:
        data = getattr(exc, "data", None)
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) and data.startswith("0x") else b""
        decoded = self._decoder.decode(raw)
        if decoded is not None:
            return ContractRevert(contract, fn.fn_name, decoded.name, decoded.args)
        return ContractRevert(contract, fn.fn_name, "Revert", {"reason": str(exc)})
