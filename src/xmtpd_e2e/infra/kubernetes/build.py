"""Build the Kubernetes components and CoreDNS from the Go module proxy, cached and pinned.

No container registry or download site is reachable from the machines this runs on, but the Go
module proxy is.  Kubernetes publishes its source as the module ``k8s.io/kubernetes``; its go.mod
points every ``k8s.io/X`` staging module at a directory inside the repository, which a consumer
cannot use, so a small wrapper module is generated here that requires the pinned release and
replaces each staging module with its published twin ``k8s.io/X v0.N.P``.  Only that go.mod and an
import list are written; the source comes from the module cache.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.kubernetes.versions import (
    COREDNS_VERSION,
    KUBERNETES_COMPONENTS,
    KUBERNETES_VERSION,
    STAGING_VERSION,
    coredns_bin_dir,
    kubernetes_bin_dir,
    kubernetes_home,
)

__all__ = [
    "BuildReport",
    "ensure_binaries",
    "ensure_host_packages",
    "staging_modules",
    "wrapper_go_mod",
    "version_ldflags",
]

# Debian packages the cluster runs on: etcd, the container runtime, CNI plugins, nft (to remove
# the nftables tables iptables-nft leaves behind) and gcc for the pause program.
HOST_PACKAGES = {
    "etcd": "etcd-server",
    "containerd": "containerd",
    "runc": "runc",
    "nft": "nftables",
    "gcc": "gcc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
}

_STAGING_REPLACE = re.compile(r"^\s*(?:replace\s+)?(k8s\.io/[\w.-]+)\s+=>\s+\./staging/src/k8s\.io/[\w.-]+\s*$", re.M)


@dataclass
class BuildReport:
    """What ``ensure_binaries`` did: seconds per step, and which parts were already cached."""

    seconds: dict[str, float] = field(default_factory=dict)
    cached: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"seconds": self.seconds, "cached": self.cached}


def staging_modules(kubernetes_go_mod: str) -> list[str]:
    """The staging modules that the go.mod of ``k8s.io/kubernetes`` redirects into its own tree."""
    return sorted(set(_STAGING_REPLACE.findall(kubernetes_go_mod)))


def wrapper_go_mod(staging: list[str]) -> str:
    lines = [
        "module xmtpd-e2e/kubernetes-build",
        "",
        "go 1.24.0",
        "",
        f"require k8s.io/kubernetes {KUBERNETES_VERSION}",
        "",
        "replace (",
    ]
    lines += [f"\t{module} => {module} {STAGING_VERSION}" for module in staging]
    lines += [")", ""]
    return "\n".join(lines)


def _tools_go() -> str:
    # Importing every command makes `go mod tidy` record the go.sum entries each one needs
    # (kubectl alone pulls in k8s.io/cli-runtime); the build tag keeps the file out of builds.
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{name}"' for name in KUBERNETES_COMPONENTS)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"


def version_ldflags(build_date: str) -> str:
    """Linker flags that stamp the release version (kubectl refuses the unstamped default)."""
    major, minor, _patch = KUBERNETES_VERSION.removeprefix("v").split(".")
    values = {
        "gitVersion": KUBERNETES_VERSION,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": build_date,
    }
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{name}={value}" for name, value in values.items()]
    return " ".join(flags)


def _run(argv: list[str], cwd: Path, log: Path, env: dict[str, str], what: str, fix: str) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        completed = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if completed.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise SetupError(f"{what} failed (exit {completed.returncode}): {' | '.join(tail)}", f"{fix}; full log: {log}")


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"})
    return env


def _all_present(directory: Path, names: tuple[str, ...]) -> bool:
    return all((directory / name).is_file() and os.access(directory / name, os.X_OK) for name in names)


def ensure_binaries(home: Path | None = None, say: Callable[[str], None] = lambda _m: None) -> BuildReport:
    """Build whatever of the pinned Kubernetes components and CoreDNS is not cached yet."""
    report = BuildReport()
    base = kubernetes_home(home)
    bin_dir = kubernetes_bin_dir(home)
    work = base / "build" / f"wrapper-{KUBERNETES_VERSION}"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "build.log"
    env = _go_env()
    go_fix = "check that the Go module proxy is reachable and Go >= 1.24 is installed"
    missing = [name for name in KUBERNETES_COMPONENTS if not _all_present(bin_dir, (name,))]
    if not missing:
        report.cached += list(KUBERNETES_COMPONENTS)
    else:
        started = time.monotonic()
        say(f"kubernetes {KUBERNETES_VERSION}: resolving the module (first time: downloads ~1 GB of Go modules)")
        download = subprocess.run(
            ["go", "mod", "download", "-json", f"k8s.io/kubernetes@{KUBERNETES_VERSION}"],
            cwd=work,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if download.returncode != 0:
            raise SetupError(
                f"the Go module proxy did not provide k8s.io/kubernetes {KUBERNETES_VERSION}: {download.stdout[-300:]}{download.stderr[-300:]}",
                go_fix,
            )
        go_mod_path = Path(json.loads(download.stdout)["GoMod"])
        staging = staging_modules(go_mod_path.read_text())
        if not staging:
            raise SetupError(
                f"found no staging modules in {go_mod_path}",
                "the k8s.io/kubernetes go.mod layout changed; update infra/kubernetes/build.py",
            )
        (work / "go.mod").write_text(wrapper_go_mod(staging))
        (work / "tools.go").write_text(_tools_go())
        _run(["go", "mod", "tidy"], work, log, env, "go mod tidy of the Kubernetes wrapper module", go_fix)
        report.seconds["resolve"] = round(time.monotonic() - started, 1)
        bin_dir.mkdir(parents=True, exist_ok=True)
        build_date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # The apiserver first: it compiles most shared dependencies, which the others then reuse.
        for name in KUBERNETES_COMPONENTS:
            if name not in missing:
                report.cached.append(name)
                continue
            started = time.monotonic()
            say(f"kubernetes {KUBERNETES_VERSION}: building {name}")
            partial = bin_dir / f".{name}.partial"
            _run(
                [
                    "go",
                    "build",
                    "-trimpath",
                    "-ldflags",
                    version_ldflags(build_date),
                    "-o",
                    str(partial),
                    f"k8s.io/kubernetes/cmd/{name}",
                ],
                work,
                log,
                env,
                f"building {name}",
                go_fix,
            )
            partial.rename(bin_dir / name)
            report.seconds[name] = round(time.monotonic() - started, 1)
    coredns_dir = coredns_bin_dir(home)
    if _all_present(coredns_dir, ("coredns",)):
        report.cached.append("coredns")
    else:
        started = time.monotonic()
        say(f"coredns {COREDNS_VERSION}: building")
        coredns_dir.mkdir(parents=True, exist_ok=True)
        env_coredns = dict(env, GOBIN=str(coredns_dir), GOFLAGS="")
        _run(
            ["go", "install", "-trimpath", "-ldflags", "-s -w", f"github.com/coredns/coredns@{COREDNS_VERSION}"],
            work,
            log,
            env_coredns,
            "building CoreDNS",
            go_fix,
        )
        report.seconds["coredns"] = round(time.monotonic() - started, 1)
    return report


def ensure_host_packages(say: Callable[[str], None] = lambda _m: None) -> list[str]:
    """apt-get install whichever of HOST_PACKAGES is missing; returns the packages installed."""
    import shutil

    missing = sorted(
        {
            package
            for probe, package in HOST_PACKAGES.items()
            if not (Path(probe).exists() if probe.startswith("/") else shutil.which(probe))
        }
    )
    if not missing:
        return []
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SetupError(
            f"missing system packages: {' '.join(missing)}",
            f"install them (Debian: apt-get install {' '.join(missing)}) and rerun",
        )
    say(f"installing {' '.join(missing)} (apt)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
    ):
        completed = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if completed.returncode != 0:
            raise SetupError(
                f"`{' '.join(argv)}` failed: {completed.stderr.strip()[-300:]}",
                f"run `apt-get install {' '.join(missing)}` by hand to see why",
            )
    # Debian starts a packaged etcd on the standard ports; the cluster runs its own.
    subprocess.run(["systemctl", "disable", "--now", "etcd"], capture_output=True, check=False)
    return missing


if __name__ == "__main__":
    import sys

    result = ensure_binaries(say=lambda message: print(message, file=sys.stderr, flush=True))
    print(json.dumps(result.to_dict(), indent=2))
