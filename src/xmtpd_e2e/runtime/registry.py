"""The runtimes the framework knows: one entry each, from which everything else derives.

The CLI's ``--runtime`` choices, the pytest plugin's ``--xmtpd-runtime``, ``auto`` selection,
the integration tests parametrised over runtimes and ``xmtpd-e2e cleanup`` (which asks every
runtime how to remove its kinds of resource) all read :data:`RUNTIMES`; a new runtime is one
more :class:`RuntimeEntry` here, and its name appears nowhere else.

Entries import their runtime module only when used: the docker runtime pulls in the Docker SDK,
which a local-only run never needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xmtpd_e2e.config import AUTO_RUNTIME, RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.record import Reclaimer, RunState
from xmtpd_e2e.runtime.base import Runtime

if TYPE_CHECKING:
    from xmtpd_e2e.infra.images import ImageRecipe

__all__ = [
    "RuntimeRequest",
    "RuntimeEntry",
    "RuntimeRegistry",
    "RUNTIMES",
    "create_runtime",
    "LOCAL",
    "DOCKER",
    "KUBERNETES",
    "AUTO_RUNTIME",
]

LOCAL = "local"
DOCKER = "docker"
KUBERNETES = "kubernetes"


@dataclass(frozen=True)
class RuntimeRequest:
    """What a runtime is built from: the run's settings and record, and where it keeps logs."""

    config: RunConfig
    run_state: RunState
    env_id: str
    log_dir: Path
    logger: logging.Logger


@dataclass(frozen=True)
class RuntimeEntry:
    """One runtime: how to build it, whether it can run here, how to remove what it leaves."""

    name: str
    description: str
    create: Callable[[RuntimeRequest], Runtime]
    unavailable: Callable[[], SetupError | None]
    """Why this runtime cannot run on this machine now (problem and fix), or None if it can."""
    reclaimers: Callable[[], Sequence[Reclaimer]]
    """How ``xmtpd-e2e cleanup`` removes each kind of resource this runtime records."""
    auto: bool = True
    """Whether ``auto`` may pick it (in registration order, the first one available)."""


class RuntimeRegistry:
    """Runtimes by name, in the order ``auto`` tries them."""

    def __init__(self) -> None:
        self._entries: dict[str, RuntimeEntry] = {}

    def register(self, entry: RuntimeEntry) -> None:
        if entry.name == AUTO_RUNTIME or entry.name in self._entries:
            raise ValueError(f"runtime name {entry.name!r} is taken")
        self._entries[entry.name] = entry

    def __iter__(self) -> Iterator[RuntimeEntry]:
        return iter(list(self._entries.values()))

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def choices(self) -> tuple[str, ...]:
        """What a user may ask for: ``auto`` or a runtime's name."""
        return (AUTO_RUNTIME, *self._entries)

    def get(self, name: str) -> RuntimeEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise SetupError(f"unknown runtime {name!r}", f"use --runtime {' | '.join(self.choices())}") from None

    def resolve(self, choice: str, logger: logging.Logger | None = None) -> RuntimeEntry:
        """The runtime for ``choice``; raises SetupError when it cannot run here."""
        if choice == AUTO_RUNTIME:
            for entry in self._entries.values():
                if entry.auto and entry.unavailable() is None:
                    if logger is not None:
                        logger.info("runtime %s -> %s", AUTO_RUNTIME, entry.name)
                    return entry
            raise SetupError("no runtime can run here", f"choose one with --runtime {' | '.join(self.names())}")
        entry = self.get(choice)
        problem = entry.unavailable()
        if problem is not None:
            raise problem
        return entry

    def reclaimers(self) -> list[Reclaimer]:
        return [reclaimer for entry in self for reclaimer in entry.reclaimers()]


def create_runtime(request: RuntimeRequest) -> Runtime:
    """The runtime the run's configuration asks for, built for one environment."""
    return RUNTIMES.resolve(request.config.runtime, request.logger).create(request)


# -- local: host processes ------------------------------------------------------------------
def _create_local(request: RuntimeRequest) -> Runtime:
    from xmtpd_e2e.infra.binaries import binary_resolver
    from xmtpd_e2e.runtime.local import LocalRuntime

    return LocalRuntime(
        request.run_state,
        request.env_id,
        request.log_dir,
        binary_resolver(request.config),
        request.logger,
        network=request.config.local_network,
    )


def _local_reclaimers() -> Sequence[Reclaimer]:
    from xmtpd_e2e.runtime.netns import NETWORK_NAMESPACES
    from xmtpd_e2e.runtime.processes import PROCESSES

    return (PROCESSES, NETWORK_NAMESPACES)


# -- docker: one container per service on a network per environment -----------------------
def _create_docker(request: RuntimeRequest) -> Runtime:
    from xmtpd_e2e.runtime.docker import DockerRuntime

    return DockerRuntime(
        request.run_state,
        request.env_id,
        request.log_dir,
        request.logger,
        holder_image=request.config.images.toxiproxy,  # the validation service starts beside toxiproxy
    )


def _docker_unavailable() -> SetupError | None:
    from xmtpd_e2e.runtime.docker import docker_engine_answers

    if docker_engine_answers():
        return None
    return SetupError(
        "no Docker engine answers (or this user may not use it)",
        "start one (`xmtpd-e2e infra install` starts dockerd when run as root), add yourself to the "
        f"docker group, or use --runtime {LOCAL}",
    )


def _docker_reclaimers() -> Sequence[Reclaimer]:
    from xmtpd_e2e.runtime.docker import DOCKER_RESOURCES

    return (DOCKER_RESOURCES,)


# -- kubernetes: pods in a namespace per environment, on the local cluster or any kubeconfig ---
def _create_kubernetes(request: RuntimeRequest) -> Runtime:
    from xmtpd_e2e.runtime.kubernetes.runtime import KubernetesRuntime

    config = request.config
    return KubernetesRuntime(
        request.run_state,
        request.env_id,
        request.log_dir,
        request.logger,
        context=config.kube_context,
        access=config.kube_access,
        images=config.images,
        xmtpd_version=config.xmtpd_version,
        extra_images=_validation_image(config),
    )


def _validation_image(config: RunConfig) -> list[ImageRecipe]:
    """The MLS validation service's image when the run builds it from a binary (loaded into the
    local cluster with the others)."""
    from xmtpd_e2e.infra.images import validation_recipe
    from xmtpd_e2e.infra.validation import validation_source

    source = validation_source(config, runs_images=True)
    if source is None or not source.builds_image or source.binary is None:
        return []
    return [validation_recipe(source.binary)]


def _kubernetes_unavailable() -> SetupError | None:
    from xmtpd_e2e.runtime.kubernetes.connection import connect

    try:
        connect(None, timeout=3).api_client.close()
    except SetupError as problem:
        return problem
    return None


def _kubernetes_reclaimers() -> Sequence[Reclaimer]:
    from xmtpd_e2e.runtime.kubernetes.cleanup import NAMESPACES

    return (NAMESPACES,)


RUNTIMES = RuntimeRegistry()
RUNTIMES.register(
    RuntimeEntry(
        DOCKER,
        "containers on a network per environment (upstream parity)",
        _create_docker,
        _docker_unavailable,
        _docker_reclaimers,
    )
)
RUNTIMES.register(
    RuntimeEntry(
        LOCAL,
        "host processes, a network namespace each when root (no Docker needed)",
        _create_local,
        lambda: None,
        _local_reclaimers,
    )
)
# Never chosen by `auto`: a cluster is something a user points at on purpose.
RUNTIMES.register(
    RuntimeEntry(
        KUBERNETES,
        "pods in a namespace per environment (the local cluster, or --kube-context / KUBECONFIG)",
        _create_kubernetes,
        _kubernetes_unavailable,
        _kubernetes_reclaimers,
        auto=False,
    )
)
