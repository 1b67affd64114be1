"""``xmtpd-e2e infra install``: everything a fresh machine needs, from the package alone.

What ``scripts/setup`` used to do in shell, so that ``pip install xmtpd-e2e`` followed by one
command sets a machine up: Debian packages (as root), xmtpd's node, gateway and CLI and toxiproxy
from the Go module proxy, anvil from npm, then Postgres and the Docker engine started and the
local images built.  Idempotent and cached: what is installed at the pinned version is only
checked.  Everything goes to ``$XMTPD_E2E_HOME`` (default ``~/.cache/xmtpd-e2e``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.binaries import binary_candidates, xmtpd_bin_dir
from xmtpd_e2e.infra.system_packages import missing_packages
from xmtpd_e2e.versions import ANVIL_VERSION, TOXIPROXY_VERSION

__all__ = ["Component", "components", "install_system_packages", "XMTPD_COMMANDS"]

Say = Callable[[str], None]

XMTPD_COMMANDS = ("replication", "gateway", "xmtpd-cli")
_XMTPD_MODULE = "github.com/xmtp/xmtpd"
_TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2"


@dataclass(frozen=True)
class Component:
    """One installable piece: how to tell it is there, and how to install it."""

    name: str
    installed: Callable[[], bool]
    install: Callable[[Say], None]
    installing_message: str


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _run(
    argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if log is not None:
        with log.open("a") as handle:
            handle.write(result.stdout + result.stderr)
    return result


# -- Debian packages ----------------------------------------------------------------------------
def install_system_packages(parts: set[str], say: Say) -> None:
    needed = missing_packages(parts)
    if not needed:
        return
    listed = " ".join(needed)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SetupError(
            f"missing system packages: {listed}",
            f"install them with your package manager (Debian: sudo apt-get install {listed}), then rerun",
        )
    say(f"installing {listed} (apt)")
    _run(["apt-get", "update", "-qq"])
    result = _run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *needed],
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )
    if result.returncode != 0:
        raise SetupError(f"apt-get could not install {listed}", f"run 'apt-get install {listed}' by hand to see why")
    # Debian starts packaged services; the framework runs its own, on its own ports.
    for service in ("redis-server", "postgresql"):
        for command in (["systemctl", "stop", service], ["service", service, "stop"]):
            if shutil.which(command[0]):
                _run(command)


# -- Go binaries ---------------------------------------------------------------------------------
def _require_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise SetupError("Go is not installed", "install Go >= 1.26 (https://go.dev/dl) and rerun")
    return go


def _install_xmtpd(version: str, home: Path) -> Callable[[Say], None]:
    def install(say: Say) -> None:
        go = _require_go()
        target = xmtpd_bin_dir(version, home)
        with tempfile.TemporaryDirectory(prefix="xmtpd-e2e-install-") as scratch:
            build, log = Path(scratch), Path(scratch) / "log"
            # `go install pkg@version` also asks the proxy for the module's version list, which it
            # refuses for xmtpd; requiring the exact version from a throw-away module avoids that.
            (build / "go.mod").write_text(f"module xmtpd-e2e-install\n\ngo 1.26\n\nrequire {_XMTPD_MODULE} {version}\n")
            imports = "".join(f'\t_ "{_XMTPD_MODULE}/cmd/{c}"\n' for c in XMTPD_COMMANDS)
            (build / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n")
            tidy = _run([go, "mod", "tidy"], cwd=build, env={"GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}, log=log)
            if tidy.returncode != 0:
                lines = (tidy.stdout + tidy.stderr).splitlines()
                reason = next(
                    (line for line in lines if any(w in line for w in ("not available", "error", "403"))),
                    lines[-1] if lines else "no output",
                )
                raise SetupError(
                    f"the Go module proxy did not provide xmtpd {version}: {reason}",
                    "use a version it serves (XMTPD_E2E_XMTPD_VERSION=v1.2.0), or build xmtpd "
                    "yourself and pass --xmtpd-bin/--gateway-bin",
                )
            target.mkdir(parents=True, exist_ok=True)
            built = _run(
                [go, "install", "-trimpath", *(f"{_XMTPD_MODULE}/cmd/{c}" for c in XMTPD_COMMANDS)],
                cwd=build,
                env={"CGO_ENABLED": "0", "GOBIN": str(target)},
                log=log,
            )
            if built.returncode != 0:
                tail = "\n".join((built.stdout + built.stderr).splitlines()[-3:])
                raise SetupError(f"building xmtpd {version} failed: {tail}", "see the Go error above")

    return install


def _install_toxiproxy(home: Path) -> Callable[[Say], None]:
    def install(say: Say) -> None:
        go = _require_go()
        target = home / "bin" / f"toxiproxy-{TOXIPROXY_VERSION}"
        target.mkdir(parents=True, exist_ok=True)
        result = _run(
            [
                go,
                "install",
                "-trimpath",
                f"{_TOXIPROXY_MODULE}/cmd/server@{TOXIPROXY_VERSION}",
                f"{_TOXIPROXY_MODULE}/cmd/cli@{TOXIPROXY_VERSION}",
            ],
            env={"CGO_ENABLED": "0", "GOBIN": str(target)},
        )
        if result.returncode != 0:
            raise SetupError(
                f"installing toxiproxy failed: {(result.stderr or result.stdout).strip()[-500:]}",
                "check that the Go module proxy is reachable",
            )

    return install


# -- anvil (npm) ---------------------------------------------------------------------------------
def _anvil_path(home: Path) -> Path:
    return binary_candidates("anvil", "", home)[0]


def _anvil_installed(home: Path) -> bool:
    anvil = _anvil_path(home)
    if not _executable(anvil):
        return False
    version = _run([str(anvil), "--version"])
    return ANVIL_VERSION in version.stdout


def _install_anvil(home: Path) -> Callable[[Say], None]:
    def install(say: Say) -> None:
        npm = shutil.which("npm")
        if npm is None:
            raise SetupError("npm is not installed", "install Node.js and npm, then rerun")
        prefix = home / "npm"
        prefix.mkdir(parents=True, exist_ok=True)
        packages = [f"@foundry-rs/anvil@{ANVIL_VERSION}", f"@foundry-rs/anvil-linux-amd64@{ANVIL_VERSION}"]
        result = _run(
            [npm, "install", "--silent", "--no-save", "--no-audit", "--no-fund", "--prefix", str(prefix), *packages]
        )
        if result.returncode != 0:
            raise SetupError(
                f"npm could not install @foundry-rs/anvil@{ANVIL_VERSION}",
                f"run the npm command by hand to see why: npm install --prefix {prefix} {' '.join(packages)}",
            )

    return install


def components(xmtpd_version: str, home: Path) -> list[Component]:
    """The installable binaries, in install order, at their pinned versions."""
    xmtpd_dir = xmtpd_bin_dir(xmtpd_version, home)
    toxi_dir = home / "bin" / f"toxiproxy-{TOXIPROXY_VERSION}"
    return [
        Component(
            f"xmtpd {xmtpd_version}",
            lambda: all(_executable(xmtpd_dir / c) for c in XMTPD_COMMANDS),
            _install_xmtpd(xmtpd_version, home),
            "building node, gateway and CLI from the Go module proxy (a few minutes)",
        ),
        Component(
            f"toxiproxy {TOXIPROXY_VERSION}",
            lambda: _executable(toxi_dir / "server") and _executable(toxi_dir / "cli"),
            _install_toxiproxy(home),
            "installing",
        ),
        Component(
            f"anvil {ANVIL_VERSION}", lambda: _anvil_installed(home), _install_anvil(home), "installing from npm"
        ),
    ]
