"""Settings for one run, shared by the CLI, the runner, the pytest plugin and the environment."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from xmtpd_e2e.versions import CONTRACTS_VERSION, LOCAL_IMAGE_REVISION, REDIS_VERSION, TOXIPROXY_VERSION, XMTPD_VERSION

__all__ = [
    "AUTO_RUNTIME",
    "LOCAL_NETWORKS",
    "KUBE_ACCESS",
    "Images",
    "RunConfig",
    "UPSTREAM_IMAGES",
    "LOCAL_IMAGES",
    "local_images",
    "upstream_images",
    "default_home",
    "XMTPD_VERSION",
]

AUTO_RUNTIME = "auto"
"""``--runtime auto``: the first registered runtime that can run here (see runtime.registry)."""
LOCAL_NETWORKS = ("auto", "namespaces", "loopback")
"""``--local-network`` choices (see :attr:`RunConfig.local_network`)."""
KUBE_ACCESS = ("auto", "pod-ip", "port-forward")
"""``--kube-access`` choices (see :attr:`RunConfig.kube_access`)."""


@dataclass(frozen=True)
class Images:
    """Container images for the docker runtime (pinned: upstream's ``:latest`` drifts)."""

    xmtpd: str
    gateway: str
    chain: str
    cli: str
    toxiproxy: str
    redis: str


def upstream_images(xmtpd_version: str = XMTPD_VERSION) -> Images:
    """Upstream's published images, xmtpd's at ``xmtpd_version``."""
    return Images(
        xmtpd=f"ghcr.io/xmtp/xmtpd:{xmtpd_version}",
        gateway=f"ghcr.io/xmtp/xmtpd-gateway:{xmtpd_version}",
        chain=f"ghcr.io/xmtp/contracts:{CONTRACTS_VERSION}",
        cli=f"ghcr.io/xmtp/xmtpd-cli:{xmtpd_version}",
        toxiproxy=f"ghcr.io/shopify/toxiproxy:{TOXIPROXY_VERSION.removeprefix('v')}",
        redis=f"redis:{REDIS_VERSION}-alpine",
    )


UPSTREAM_IMAGES = upstream_images()

LOCAL_IMAGE_PREFIX = "xmtpd-e2e-local"


def local_images(xmtpd_version: str = XMTPD_VERSION) -> Images:
    """Images built by ``xmtpd-e2e infra build-images``, tagged with the upstream versions and
    the revision of what the images hold (``versions.LOCAL_IMAGE_REVISION``)."""

    def tag(name: str, version: str) -> str:
        return f"{LOCAL_IMAGE_PREFIX}/{name}:{version}-{LOCAL_IMAGE_REVISION}"

    return Images(
        xmtpd=tag("xmtpd", xmtpd_version),
        gateway=tag("xmtpd-gateway", xmtpd_version),
        chain=tag("contracts", CONTRACTS_VERSION),
        cli=tag("xmtpd-cli", xmtpd_version),
        toxiproxy=tag("toxiproxy", TOXIPROXY_VERSION),
        redis=tag("redis", REDIS_VERSION),
    )


LOCAL_IMAGES = local_images()


def default_home() -> Path:
    """Where installed binaries, the Postgres cluster, dockerd's log and run state live."""
    configured = os.environ.get("XMTPD_E2E_HOME")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "xmtpd-e2e"


@dataclass(frozen=True)
class RunConfig:
    """What a user chose for this run; every field has a CLI flag and an ``XMTPD_E2E_*`` variable."""

    runtime: str = AUTO_RUNTIME
    """``auto`` or the name of a registered runtime (runtime.registry.RUNTIMES)."""
    local_network: str = "auto"
    """Local runtime only: ``namespaces`` (a network namespace per service, which network faults
    need; root), ``loopback`` (every service on the host's loopback), ``auto`` (namespaces when
    possible)."""
    images: Images = UPSTREAM_IMAGES
    xmtpd_bin: Path | None = None
    gateway_bin: Path | None = None
    mls_validation_bin: Path | None = None
    """libxmtp's ``mls-validation-service`` (local runtime; on docker and kubernetes the input of
    the image built from it).  None: ``$XMTPD_E2E_MLS_VALIDATION_BIN``, ``$XMTPD_E2E_HOME/bin``,
    then PATH (see ``xmtpd_e2e.infra.validation``)."""
    mls_validation_image: str | None = None
    """An image of the validation service for docker and kubernetes (upstream's is
    ``ghcr.io/xmtp/mls-validation-service``); None: the image built from the binary."""
    postgres_dsn: str = "postgres://postgres:xmtp@127.0.0.1:8765/postgres?sslmode=disable"
    home: Path = field(default_factory=default_home)
    artifacts_dir: Path = Path("artifacts")
    artifacts_always: bool = False
    keep_logs_for_report: bool = False
    """Keep each scenario's service logs in its result (capped) when no artifacts keep them:
    set by ``--html``, whose page shows them even for scenarios that passed."""
    scenario_timeout: float = 900.0
    timeout_given: bool = False
    """True when the user chose ``--timeout``: it then overrides scenarios' own budgets."""
    log_level: str = "info"
    log_encoding: str = "console"
    xmtpd_version: str = XMTPD_VERSION
    kube_context: str | None = None
    """kubernetes runtime: the kubeconfig context (default: the current one)."""
    kube_access: str = "auto"
    """kubernetes runtime: how the framework reaches pods -- ``pod-ip`` (directly; the runner's
    host must route to the pod network, as the local cluster's does), ``port-forward`` (through
    the Kubernetes API, any cluster), ``auto`` (pod-ip when a pod's IP answers, else port-forward)."""

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON-ready data: how a parent hands them to ``--parallel`` workers."""
        data = asdict(self)
        return {key: str(value) if isinstance(value, Path) else value for key, value in data.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        """The inverse of :meth:`to_json` (unknown keys are an error, not silently dropped)."""
        known = {f.name: f for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown run settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = dict(data)
        values["images"] = Images(**data["images"]) if "images" in data else UPSTREAM_IMAGES
        for key in ("xmtpd_bin", "gateway_bin", "mls_validation_bin", "home", "artifacts_dir"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        return cls(**values)
