"""The deployed XMTP contracts: addresses and ABIs shipped with the package, and revert decoding.

Data files come from the XMTP contracts release v2026.02.10-1: the ABIs, and an anvil state with the
contracts deployed at the addresses of xmtpd's embedded ``anvil`` environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak

__all__ = ["addresses", "abi", "ContractErrorDecoder", "DecodedError", "CONTRACT_FOR_ADDRESS_KEY"]

CONTRACT_FOR_ADDRESS_KEY = {
    "nodeRegistry": "NodeRegistry",
    "payerRegistry": "PayerRegistry",
    "payerReportManager": "PayerReportManager",
    "rateRegistry": "RateRegistry",
    "distributionManager": "DistributionManager",
    "feeToken": "FeeToken",
    "underlyingFeeToken": "MockUnderlyingFeeToken",
    "settlementChainParameterRegistry": "SettlementChainParameterRegistry",
    "groupMessageBroadcaster": "GroupMessageBroadcaster",
    "identityUpdateBroadcaster": "IdentityUpdateBroadcaster",
    "settlementChainGateway": "SettlementChainGateway",
    "appChainGateway": "AppChainGateway",
}


def _data(path: str) -> Any:
    return json.loads(resources.files("xmtpd_e2e.chain").joinpath("data", path).read_text())


@cache
def addresses() -> dict[str, Any]:
    """``environment.json``: contract key -> address (plus chain ids)."""
    return dict(_data("environment.json"))


@cache
def abi(contract: str) -> list[dict[str, Any]]:
    return list(_data(f"abi/{contract}.json"))


def _canonical_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


@dataclass(frozen=True)
class DecodedError:
    name: str
    args: dict[str, Any]


class ContractErrorDecoder:
    """Maps revert data to the custom error (name and arguments) of any shipped ABI."""

    def __init__(self) -> None:
        self._errors: dict[bytes, tuple[str, list[dict[str, Any]]]] = {}
        listing = resources.files("xmtpd_e2e.chain").joinpath("data", "abi")
        for entry in listing.iterdir():
            if not entry.name.endswith(".json"):
                continue
            for item in json.loads(entry.read_text()):
                if item.get("type") != "error":
                    continue
                signature = f"{item['name']}({','.join(_canonical_type(i) for i in item['inputs'])})"
                self._errors[keccak(text=signature)[:4]] = (item["name"], item["inputs"])

    def decode(self, data: bytes) -> DecodedError | None:
        if len(data) < 4:
            return None
        known = self._errors.get(data[:4])
        if known is None:
            return None
        name, inputs = known
        try:
            values = abi_decode([_canonical_type(i) for i in inputs], data[4:])
        except Exception:
            return DecodedError(name, {"raw": "0x" + data[4:].hex()})
        return DecodedError(
            name, {i["name"] or f"arg{n}": v for n, (i, v) in enumerate(zip(inputs, values, strict=True))}
        )
