"""Where the local runtime finds each executable, and what to say when one is missing.

Installed by ``xmtpd-e2e infra install`` (which ``scripts/setup`` runs) into ``$XMTPD_E2E_HOME/bin`` (xmtpd per version, toxiproxy) and
``$XMTPD_E2E_HOME/npm`` (anvil); Redis comes from the system.  A user can point at their own
xmtpd builds with ``--xmtpd-bin`` / ``--gateway-bin``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from xmtpd_e2e.config import RunConfig, default_home
from xmtpd_e2e.versions import ANVIL_VERSION, TOXIPROXY_VERSION, XMTPD_VERSION
from xmtpd_e2e.errors import SetupError

__all__ = [
    "resolve_binary",
    "binary_resolver",
    "binary_candidates",
    "KNOWN_BINARIES",
    "xmtpd_bin_dir",
    "VALIDATION_BIN_VARIABLE",
    "VALIDATION_BIN_HINT",
]

KNOWN_BINARIES = (
    "replication",
    "gateway",
    "xmtpd-cli",
    "toxiproxy-server",
    "toxiproxy-cli",
    "anvil",
    "redis-server",
    "mls-validation-service",
)
VALIDATION_BIN_VARIABLE = "XMTPD_E2E_MLS_VALIDATION_BIN"
"""Where libxmtp's ``mls-validation-service`` is when ``--mls-validation-bin`` is not given."""
_INSTALL_HINT = (
    "run `xmtpd-e2e infra install` (installs every component into $XMTPD_E2E_HOME, default ~/.cache/xmtpd-e2e)"
)


VALIDATION_BIN_HINT = (
    f"pass --mls-validation-bin PATH or set {VALIDATION_BIN_VARIABLE} to a build of libxmtp's "
    "mls-validation-service (apps/mls_validation_service), or put it in $XMTPD_E2E_HOME/bin or on PATH"
)


def xmtpd_bin_dir(version: str, home: Path | None = None) -> Path:
    return (home or default_home()) / "bin" / f"xmtpd-{version}"


def binary_candidates(name: str, version: str, home: Path) -> list[Path]:
    if name in ("replication", "gateway", "xmtpd-cli"):
        return [xmtpd_bin_dir(version, home) / name]
    if name in ("toxiproxy-server", "toxiproxy-cli"):
        return [home / "bin" / f"toxiproxy-{TOXIPROXY_VERSION}" / name.removeprefix("toxiproxy-")]
    if name == "anvil":
        return [home / "npm" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"]
    if name == "redis-server":
        found = shutil.which("redis-server")
        return [Path(found)] if found else [Path("/usr/bin/redis-server")]
    if name == "mls-validation-service":
        return _validation_candidates(home)
    raise SetupError(f"unknown executable {name!r}", f"known executables: {', '.join(KNOWN_BINARIES)}")


def _validation_candidates(home: Path) -> list[Path]:
    """libxmtp builds it, nobody packages it: the variable, then the framework's bin folder, then PATH."""
    candidates = []
    configured = os.environ.get(VALIDATION_BIN_VARIABLE)
    if configured:
        candidates.append(Path(configured))
    candidates.append(home / "bin" / "mls-validation-service")
    found = shutil.which("mls-validation-service")
    if found:
        candidates.append(Path(found))
    return candidates


def resolve_binary(
    name: str, *, version: str | None = None, override: Path | None = None, home: Path | None = None
) -> Path:
    """The path of executable ``name``; raises SetupError naming the install command."""
    if override is not None:
        if override.is_file() and os.access(override, os.X_OK):
            return override
        raise SetupError(f"{override} (given for {name}) is not an executable file", "pass the path of a built binary")
    version = version or XMTPD_VERSION
    for candidate in binary_candidates(name, version, home or default_home()):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    what = {
        "replication": f"the xmtpd node binary {version}",
        "gateway": f"the xmtpd gateway binary {version}",
        "xmtpd-cli": f"xmtpd-cli {version}",
        "anvil": f"anvil {ANVIL_VERSION}",
        "mls-validation-service": "libxmtp's mls-validation-service",
    }.get(name, name)
    fix = _INSTALL_HINT
    if name in ("replication", "gateway"):
        fix += f"; or pass --{'xmtpd' if name == 'replication' else 'gateway'}-bin with your own build"
    if name == "redis-server":
        fix = "install Debian's redis-server (`xmtpd-e2e infra install` does it when run as root)"
    if name == "mls-validation-service":
        fix = VALIDATION_BIN_HINT
    raise SetupError(
        f"{what} is not installed (looked in {', '.join(map(str, binary_candidates(name, version, home or default_home())))})",
        fix,
    )


def binary_resolver(config: RunConfig) -> Callable[[str], Path]:
    """How the local runtime finds executables for a run: the run's xmtpd version and the
    user's own node/gateway builds, if given."""
    overrides = {
        "replication": config.xmtpd_bin,
        "gateway": config.gateway_bin,
        "mls-validation-service": config.mls_validation_bin,
    }

    def resolve(name: str) -> Path:
        return resolve_binary(name, version=config.xmtpd_version, override=overrides.get(name))

    return resolve
