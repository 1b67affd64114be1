"""``Chain``: every on-chain operation of the spec, against the XMTP contracts on anvil.

Amounts are base units of the 6-decimal fee token unless a name says otherwise (see
:mod:`xmtpd_e2e.chain.units`).  Signers: the admin (account 0) for registry, rate and minting
operations, as upstream; the payer's own key for withdrawals; the node owner's key for claims.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import RPCEndpoint

from xmtpd_e2e.chain.contracts import CONTRACT_FOR_ADDRESS_KEY, abi, addresses
from xmtpd_e2e.chain.errors import ChainInputError
from xmtpd_e2e.chain.keys import Key
from xmtpd_e2e.chain.transactions import TransactionSender
from xmtpd_e2e.chain.units import format_xusd

__all__ = ["Chain", "RateOptions", "Rates", "NodeRecord", "PayerReport", "PendingWithdrawal"]

RATE_KEYS = (
    "xmtp.rateRegistry.messageFee",
    "xmtp.rateRegistry.storageFee",
    "xmtp.rateRegistry.congestionFee",
    "xmtp.rateRegistry.targetRatePerMinute",
    "xmtp.rateRegistry.ratesInEffectAfter",
)
DEFAULT_RATE_DELAY = 2 * 3600


@dataclass(frozen=True)
class RateOptions:
    """Rates to publish (picodollars per message / per byte-day / per congestion unit).

    ``start_time`` is a unix time in *chain* time; ``None`` = two hours ahead, as upstream.
    """

    message_fee: int
    storage_fee: int
    congestion_fee: int
    target_rate_per_minute: int
    start_time: int | None = None


@dataclass(frozen=True)
class Rates:
    message_fee: int
    storage_fee: int
    congestion_fee: int
    target_rate_per_minute: int
    start_time: int


@dataclass(frozen=True)
class NodeRecord:
    node_id: int
    signer: str
    is_canonical: bool
    signing_public_key: bytes
    http_address: str


@dataclass(frozen=True)
class PayerReport:
    start_sequence_id: int
    end_sequence_id: int
    end_minute_since_epoch: int
    fees_settled: int
    offset: int
    is_settled: bool
    protocol_fee_rate: int
    payers_merkle_root: bytes
    node_ids: list[int]


@dataclass(frozen=True)
class PendingWithdrawal:
    amount: int
    withdrawable_timestamp: int
    nonce: int


def checked_address(value: str, what: str = "address") -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ChainInputError(f"{value!r} is not a valid {what}", "pass a 0x-prefixed 20-byte hex address")
    return str(to_checksum_address(value))


class Chain:
    """Operations on the XMTP contracts (see module docstring); thread-safe."""

    def __init__(self, rpc_url: str, admin: Key) -> None:
        self.rpc_url = rpc_url
        self.admin = admin
        # web3 asks for the chain id before every call and transaction it validates; it never
        # changes, so the provider answers it from its cache (half the requests of a batch).
        self.w3 = Web3(
            Web3.HTTPProvider(
                rpc_url,
                request_kwargs={"timeout": 30},
                cache_allowed_requests=True,
                cacheable_requests={RPCEndpoint("eth_chainId")},
            )
        )
        self.tx = TransactionSender(self.w3)
        self._contracts: dict[str, Contract] = {}
        self._lock = threading.Lock()
        self._env = addresses()

    def contract(self, name: str) -> Contract:
        with self._lock:
            if name not in self._contracts:
                key = next(k for k, v in CONTRACT_FOR_ADDRESS_KEY.items() if v == name)
                self._contracts[name] = self.w3.eth.contract(address=self._env[key], abi=abi(name))
            return self._contracts[name]

    def _call(self, contract: str, function: str, *args: Any) -> Any:
        return self.tx.call(contract, getattr(self.contract(contract).functions, function)(*args))

    def _send(self, contract: str, function: str, *args: Any, key: Key | None = None) -> Any:
        fn = getattr(self.contract(contract).functions, function)(*args)
        return self.tx.send(contract, fn, key or self.admin)

    # -- node registry ----------------------------------------------------------------------
    def all_nodes(self) -> list[NodeRecord]:
        return [
            NodeRecord(int(node_id), str(n[0]), bool(n[1]), bytes(n[2]), str(n[3]))
            for node_id, n in self._call("NodeRegistry", "getAllNodes")
        ]

    def register_node(self, owner: str, signing_key: Key | bytes, http_address: str) -> int:
        """Register a node exactly as ``xmtpd-cli nodes register`` does; returns its id.

        Like the CLI, a key that is already registered is not registered twice: its existing
        id is returned.  The node is *not* canonical until :meth:`add_to_canonical_network`.
        """
        return self.register_nodes([(owner, signing_key, http_address)])[0]

    def register_nodes(self, nodes: Sequence[tuple[str, Key | bytes, str]]) -> list[int]:
        """:meth:`register_node` for many (owner, signing key, http address) at once: the
        registrations are sent together with consecutive nonces and confirmed together.  Ids
        follow the order given; a key already registered keeps its id."""
        entries = []
        for owner, signing_key, http_address in nodes:
            owner = checked_address(owner, "owner address")
            public = signing_key.public_key_uncompressed if isinstance(signing_key, Key) else bytes(signing_key)
            if len(public) != 65 or public[0] != 4:
                raise ChainInputError(
                    "the signing key must be a 65-byte uncompressed secp256k1 public key",
                    "pass a Key or 0x04||X||Y bytes",
                )
            if not http_address.startswith(("http://", "https://")):
                raise ChainInputError(
                    f"http address {http_address!r} must start with http:// or https://",
                    "xmtpd ignores registry entries with other schemes",
                )
            entries.append((owner, public, http_address))
        known = {node.signing_public_key: node.node_id for node in self.all_nodes()}
        new: list[tuple[str, bytes, str]] = []
        for owner, public, http_address in entries:
            if public not in known and all(public != p for _, p, _ in new):
                new.append((owner, public, http_address))
        registry = self.contract("NodeRegistry")
        sent = self.tx.send_many("NodeRegistry", [registry.functions.addNode(o, p, a) for o, p, a in new], self.admin)
        for (_, public, _), transaction in zip(new, sent, strict=True):
            events = registry.events.NodeAdded().process_receipt(transaction.receipt, errors=DISCARD)
            known[public] = int(events[0]["args"]["nodeId"])
        return [known[public] for _, public, _ in entries]

    def require_node(self, node_id: int) -> NodeRecord:
        for node in self.all_nodes():
            if node.node_id == node_id:
                return node
        known = [n.node_id for n in self.all_nodes()]
        raise ChainInputError(f"node {node_id} is not registered", f"use one of the registered node ids {known}")

    def get_node(self, node_id: int) -> NodeRecord:
        return self.require_node(node_id)

    def add_to_canonical_network(self, node_id: int) -> None:
        self.add_all_to_canonical_network([node_id])

    def add_all_to_canonical_network(self, node_ids: Sequence[int]) -> None:
        """Make every node of ``node_ids`` canonical, the transactions sent together."""
        registered = {node.node_id for node in self.all_nodes()}
        for node_id in node_ids:
            if node_id not in registered:
                raise ChainInputError(
                    f"node {node_id} is not registered", f"use one of the registered node ids {sorted(registered)}"
                )
        registry = self.contract("NodeRegistry")
        self.tx.send_many("NodeRegistry", [registry.functions.addToNetwork(i) for i in node_ids], self.admin)

    def remove_from_canonical_network(self, node_id: int) -> None:
        self.require_node(node_id)
        self._send("NodeRegistry", "removeFromNetwork", node_id)

    def canonical_node_ids(self) -> list[int]:
        return sorted(int(i) for i in self._call("NodeRegistry", "getCanonicalNodes"))

    def set_node_http_address(self, owner_key: Key, node_id: int, http_address: str) -> None:
        self.require_node(node_id)
        self._send("NodeRegistry", "setHttpAddress", node_id, http_address, key=owner_key)

    # -- rates ------------------------------------------------------------------------------
    def update_rates(self, options: RateOptions) -> None:
        """Set the five rate parameters, then append a RateRegistry entry from them."""
        start = options.start_time if options.start_time is not None else self.block_timestamp() + DEFAULT_RATE_DELAY
        values = (
            options.message_fee,
            options.storage_fee,
            options.congestion_fee,
            options.target_rate_per_minute,
            start,
        )
        if any(v < 0 or v >= 2**64 for v in values):
            raise ChainInputError(f"rates {values} must fit in uint64", "use non-negative values below 2**64")
        registry = self.contract("SettlementChainParameterRegistry")
        fn = registry.get_function_by_signature("set(string[],bytes32[])")(
            list(RATE_KEYS), [v.to_bytes(32, "big") for v in values]
        )
        self.tx.send("SettlementChainParameterRegistry", fn, self.admin)
        self._send("RateRegistry", "updateRates")

    def get_rates(self) -> list[Rates]:
        count = int(self._call("RateRegistry", "getRatesCount"))
        return [Rates(*(int(v) for v in r)) for r in self._call("RateRegistry", "getRates", 0, count)]

    # -- fee token and payers ------------------------------------------------------------------
    def mint_fee_token(self, amount: int) -> None:
        """Mint ``amount`` mUSD to the admin, wrap it into xUSD, approve the PayerRegistry."""
        self._positive(amount)
        fee_token = self._env["feeToken"]
        self._send("MockUnderlyingFeeToken", "mint", self.admin.address, amount)
        self._send("MockUnderlyingFeeToken", "approve", fee_token, amount)
        self._send("FeeToken", "deposit", amount)
        self._send("FeeToken", "approve", self._env["payerRegistry"], amount)

    def deposit_payer(self, address: str, amount: int) -> None:
        """Deposit ``amount`` xUSD of the admin's into the PayerRegistry for ``address``."""
        address = checked_address(address, "payer address")
        self._positive(amount)
        have = self.fee_token_balance(self.admin.address)
        if have < amount:
            raise ChainInputError(
                f"the admin holds {format_xusd(have)}, less than the {format_xusd(amount)} to deposit",
                "call mint_fee_token first, or use fund_payer",
            )
        self._send("PayerRegistry", "deposit", address, amount)

    def fund_payer(self, address: str, amount: int) -> None:
        self.mint_fee_token(amount)
        self.deposit_payer(address, amount)

    def payer_balance(self, address: str) -> int:
        return int(self._call("PayerRegistry", "getBalance", checked_address(address)))

    def fee_token_balance(self, address: str) -> int:
        return int(self._call("FeeToken", "balanceOf", checked_address(address)))

    def gas_balance(self, address: str) -> int:
        return int(self.w3.eth.get_balance(checked_address(address)))  # type: ignore[arg-type]

    def request_payer_withdrawal(self, payer_key: Key, amount: int) -> None:
        self._positive(amount)
        balance = self.payer_balance(payer_key.address)
        if amount > balance:
            raise ChainInputError(
                f"payer {payer_key.address} has {format_xusd(balance)} deposited, cannot withdraw {format_xusd(amount)}",
                "request at most the payer's balance",
            )
        self._send("PayerRegistry", "requestWithdrawal", amount, key=payer_key)

    def cancel_payer_withdrawal(self, payer_key: Key) -> None:
        self._send("PayerRegistry", "cancelWithdrawal", key=payer_key)

    def finalize_payer_withdrawal(self, payer_key: Key, recipient: str) -> None:
        self._send("PayerRegistry", "finalizeWithdrawal", checked_address(recipient, "recipient"), key=payer_key)

    def pending_withdrawal(self, address: str) -> PendingWithdrawal:
        amount, when, nonce = self._call("PayerRegistry", "getPendingWithdrawal", checked_address(address))
        return PendingWithdrawal(int(amount), int(when), int(nonce))

    # -- settlement and distribution -----------------------------------------------------------
    def payer_registry_excess(self) -> int:
        return int(self._call("PayerRegistry", "excess"))

    def send_excess_to_fee_distributor(self) -> int:
        return int(self._send("PayerRegistry", "sendExcessToFeeDistributor").result)

    def distribution_owed_fees(self, node_id: int) -> int:
        return int(self._call("DistributionManager", "getOwedFees", node_id))

    def claim_from_distribution_manager(
        self, owner_key: Key, node_id: int, originator_node_ids: Sequence[int], report_indices: Sequence[int]
    ) -> int:
        if len(originator_node_ids) != len(report_indices):
            raise ChainInputError("originator ids and report indices differ in length", "pass one index per originator")
        self.require_node(node_id)
        sent = self._send(
            "DistributionManager", "claim", node_id, list(originator_node_ids), list(report_indices), key=owner_key
        )
        return int(sent.result)

    def withdraw_from_distribution_manager(self, owner_key: Key, node_id: int, recipient: str | None = None) -> int:
        self.require_node(node_id)
        sent = self._send(
            "DistributionManager",
            "withdraw",
            node_id,
            checked_address(recipient or owner_key.address, "recipient"),
            key=owner_key,
        )
        return int(sent.result)

    def payer_report(self, originator_node_id: int, index: int) -> PayerReport:
        r = self._call("PayerReportManager", "getPayerReport", originator_node_id, index)
        return PayerReport(
            int(r[0]),
            int(r[1]),
            int(r[2]),
            int(r[3]),
            int(r[4]),
            bool(r[5]),
            int(r[6]),
            bytes(r[7]),
            [int(i) for i in r[8]],
        )

    # -- chain time and gas ---------------------------------------------------------------------
    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    def block_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def increase_time(self, seconds: int) -> None:
        """Move anvil's clock forward and mine a block (crossing a lock period explicitly)."""
        if seconds <= 0:
            raise ChainInputError(f"cannot move time by {seconds}s", "pass a positive number of seconds")
        self._rpc("evm_increaseTime", [seconds])
        self._rpc("evm_mine", [])

    def fund_gas(self, address: str, wei: int) -> None:
        """Give ``address`` ``wei`` of native balance through anvil's RPC."""
        self._rpc("anvil_setBalance", [checked_address(address), hex(wei)])

    def facts(self) -> dict[str, Any]:
        """Block, registry and rate facts for failure artifacts."""
        return {
            "block_number": self.block_number(),
            "block_timestamp": self.block_timestamp(),
            "nodes": [
                {"node_id": n.node_id, "signer": n.signer, "canonical": n.is_canonical, "http_address": n.http_address}
                for n in self.all_nodes()
            ],
            "canonical_node_ids": self.canonical_node_ids(),
            "rates": [r.__dict__ for r in self.get_rates()],
            "payer_registry_excess": self.payer_registry_excess(),
        }

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise ChainInputError(f"anvil refused {method}: {response['error']}", "is the RPC URL an anvil node?")
        return response.get("result")

    @staticmethod
    def _positive(amount: int) -> None:
        if not isinstance(amount, int) or amount <= 0:
            raise ChainInputError(
                f"amount {amount!r} must be a positive number of base units",
                "use xmtpd_e2e.chain.units.xusd(...) to convert dollars",
            )
