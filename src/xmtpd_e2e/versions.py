"""Every pinned version, in one place: the framework, ``scripts/setup`` and the images use these.

Upstream's ``:latest`` tags and unpinned installs drift; a pin changes here and nowhere else.
This module imports nothing, so ``scripts/setup`` can read it before any environment exists:
``python3 src/xmtpd_e2e/versions.py`` prints the pins as shell assignments.
"""

from __future__ import annotations

__all__ = [
    "XMTPD_VERSION",
    "TOXIPROXY_VERSION",
    "ANVIL_VERSION",
    "CONTRACTS_VERSION",
    "REDIS_VERSION",
    "LOCAL_IMAGE_REVISION",
    "XMTP_BINDINGS_VERSION",
]

XMTPD_VERSION = "v1.2.0"
"""Default xmtpd version: the newest the Go module proxy serves here (v1.3.0 is refused, 403)."""
TOXIPROXY_VERSION = "v2.12.0"
ANVIL_VERSION = "1.7.1"
"""npm ``@foundry-rs/anvil``."""
CONTRACTS_VERSION = "v2026.02.10-1"
"""XMTP contracts whose deployment ``chain/data/anvil-state.json`` holds."""
REDIS_VERSION = "7"
"""Major version of the upstream Redis image; the local runtime and images use Debian's."""
LOCAL_IMAGE_REVISION = "r2"
"""Part of every local image tag: raised whenever what the images hold changes, so a rebuilt
image never replaces one that running tests still use under the same tag."""

XMTP_BINDINGS_VERSION = "0.1.8"
"""PyPI ``xmtp-bindings``: libxmtp v1.10.0's uniffi bindings, the real users' client (wheels for
CPython 3.11 on x86_64 Linux only)."""


if __name__ == "__main__":
    for name in __all__:
        print(f"{name}={globals()[name]}")
