"""Environment variables shared by xmtpd nodes and gateways: both get the same contracts, chain, database
and MLS settings as upstream's E2E gives them; a gateway adds its API, indexer and payer key."""

from __future__ import annotations

from xmtpd_e2e.services.chain import ChainEndpoints

__all__ = ["chain_env", "merge_env"]


def chain_env(chain: ChainEndpoints) -> dict[str, str]:
    """Both chains point at the one anvil; addresses come from xmtpd's embedded anvil.json."""
    return {
        "XMTPD_CONTRACTS_ENVIRONMENT": "anvil",
        "XMTPD_SETTLEMENT_CHAIN_RPC_URL": chain.internal_rpc,
        "XMTPD_SETTLEMENT_CHAIN_WSS_URL": chain.internal_ws,
        "XMTPD_APP_CHAIN_RPC_URL": chain.internal_rpc,
        "XMTPD_APP_CHAIN_WSS_URL": chain.internal_ws,
    }


def merge_env(defaults: dict[str, str], overrides: dict[str, str], enforced: dict[str, str]) -> dict[str, str]:
    """Defaults, then the scenario's overrides, then what the framework must control.

    ``enforced`` wins over overrides (like upstream's DB name) because changing it would break
    isolation between runs or the framework's own addressing.
    """
    merged = dict(defaults)
    merged.update(overrides)
    merged.update(enforced)
    return merged
