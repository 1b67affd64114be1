"""Option types of the public API (spec: WithNodeImage, WithGatewayAlias, RateOptions, ...)."""

from __future__ import annotations

__all__ = ["RateOptions"]

try:  # the chain library owns the definition; re-exported here for test authors
    from xmtpd_e2e.chain.client import RateOptions
except ImportError:  # pragma: no cover - only while the chain library is being written
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class RateOptions:  # type: ignore[no-redef]
        message_fee: int
        storage_fee: int
        congestion_fee: int
        target_rate_per_minute: int
        start_time: int | None = None
