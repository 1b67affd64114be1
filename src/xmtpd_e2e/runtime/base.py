"""The runtime interface: what the services layer needs from "something that runs services".

Two implementations exist: :mod:`xmtpd_e2e.runtime.docker` (containers on a per-environment
network, upstream parity) and :mod:`xmtpd_e2e.runtime.local` (host processes on loopback ports).
Everything above this module -- services, handles, scenarios -- talks only to :class:`Runtime`,
so a scenario cannot tell which one runs it.

Addressing is the one place where the two differ, and it is made explicit:

* :meth:`Runtime.listen_port` -- the port a service should bind *inside its own network
  namespace*.  Docker: the well-known port (5050, 8545, ...), since every container has its own
  namespace.  Local: a free loopback port, since all processes share the host's.
* :meth:`Runtime.internal_address` -- ``host:port`` at which *other services* reach it
  (``node-100:5050`` vs ``127.0.0.1:41234``).
* :meth:`RunningService.host_address` -- ``host:port`` at which *the framework* (on the host)
  reaches it (a host-mapped port vs the same loopback port).
* :attr:`Runtime.host_gateway` -- the name under which services reach services on the host
  (Postgres): ``host.docker.internal`` vs ``127.0.0.1``.

The lifecycle behind the interface is shared by every runtime
(:mod:`xmtpd_e2e.runtime.lifecycle`), and ``tests/integration/runtime/test_contract.py`` pins it
down for every registered runtime.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xmtpd_e2e.errors import SetupError

__all__ = [
    "NodeMigrator",
    "PostgresAccess",
    "ServiceSpec",
    "RunningService",
    "Runtime",
    "ServiceState",
    "ReadyCheck",
]


class ServiceState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"  # frozen by pause(): alive, holding its sockets, executing nothing
    STOPPED = "stopped"  # stopped on purpose (or not started yet)
    EXITED = "exited"  # stopped by itself (crash or normal exit)


ReadyCheck = Callable[["RunningService"], bool]
"""Extra readiness probe run after the log line appeared (e.g. a gRPC health check)."""


@dataclass(frozen=True)
class ServiceSpec:
    """Everything needed to start one service on any runtime, written once.

    ``command`` is the program and its arguments.  The program is a *logical name*
    (``replication``, ``gateway``, ``anvil``, ``toxiproxy-server``, ``redis-server``): a process
    runtime resolves it to an installed binary; an image has it as its entrypoint, so a container
    runtime passes only the arguments.  Arguments that differ between runtimes come from the
    runtime (:meth:`Runtime.listen_port`, :attr:`Runtime.bind_address`, :meth:`Runtime.file_path`).
    ``files`` are host files the command names through :meth:`Runtime.file_path`.
    ``ports`` are the ports the service listens on, as returned by :meth:`Runtime.listen_port`;
    the docker runtime publishes them on random host ports.
    """

    name: str
    role: str
    image: str
    command: tuple[str, ...]
    files: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[int, ...] = ()
    ready_log: str | None = None
    ready_check: ReadyCheck | None = None
    ready_timeout: float = 120.0


@dataclass(frozen=True)
class NodeMigrator:
    """How a runtime runs a node build once, to completion, with a given environment."""

    build: str
    """What identifies the build (a binary's path, size and modification time; an image id)."""
    run: Callable[[Mapping[str, str]], None]
    """Runs the node with these variables and returns once it exited (or was given up on)."""
    on_host: bool
    """Runs on the host (reaches the chain and Postgres as the framework does), or beside the
    services (reaches them as a node does)."""


@dataclass(frozen=True)
class PostgresAccess:
    """Where an environment's Postgres is: the DSN the framework uses, the one services use."""

    admin_dsn: str
    service_dsn: str
    """Services replace its host by :attr:`Runtime.host_gateway`."""
    disposable: bool = False
    """The server goes away with the environment (nothing to drop or record)."""


class RunningService(abc.ABC):
    """A started service.  Survives stop/start: the same object is restarted in place."""

    spec: ServiceSpec

    @abc.abstractmethod
    def host_address(self, port: int) -> tuple[str, int]:
        """Where the framework on the host reaches ``port`` of this service (a ``listen_port``).
        May change when the service is started again: ask again after a restart."""

    @abc.abstractmethod
    def state(self) -> ServiceState: ...

    @abc.abstractmethod
    def logs(self) -> str:
        """Everything the service printed so far (stdout and stderr), across restarts."""

    @abc.abstractmethod
    def stop(self, *, graceful: bool = True, timeout: float = 10.0) -> None:
        """Stop it; ``graceful=False`` is SIGKILL (a crash, as far as the service can tell)."""

    @abc.abstractmethod
    def start(self, before_run: Callable[[], None] | None = None) -> None:
        """Start it again with the same spec, identity and data; waits for readiness.

        ``before_run`` is called once the network namespace the service will run in exists and
        before its program runs: faults carried over a restart are installed there, so the new
        process's first packet already meets them.  A runtime that cannot hold the program back
        (a cluster the framework does not run) does not call it."""

    @abc.abstractmethod
    def pause(self) -> None:
        """Freeze every process of the service (SIGSTOP; ``docker pause``): it keeps its sockets
        and memory but executes nothing, as a hung process would.  Idempotent."""

    @abc.abstractmethod
    def resume(self) -> None:
        """Thaw a paused service (SIGCONT; ``docker unpause``).  Idempotent."""

    @abc.abstractmethod
    def network_namespace(self) -> Path | None:
        """The network namespace the service runs in, as a path ``nsenter --net=`` accepts
        (``/proc/<pid>/ns/net`` of its main process), while it runs; None when not running or
        when the runtime cannot give one."""

    def fault_namespace(self) -> Path | None:
        """The network namespace that holds faults on this service: one that outlives its process
        (and so the rules in it) where the runtime keeps one, else the running process's."""
        return self.network_namespace()

    def network_address(self) -> str | None:
        """Its IP address on the environment's own network (``None`` when services share the
        host's network, or it is not running)."""
        return None

    def name_servers(self) -> tuple[str, ...]:
        """The name servers the service asks over its network, not its loopback (kubernetes: the
        cluster DNS); empty where names are resolved locally (docker's resolver listens on the
        container's loopback; local services are given IP addresses).  A fault on all of a
        service's packets spares these, so the fault means the same on every runtime."""
        return ()

    def host_url(self, port: int, scheme: str = "http") -> str:
        host, mapped = self.host_address(port)
        return f"{scheme}://{host}:{mapped}"


class Runtime(abc.ABC):
    """Starts services for one environment and removes all of them on :meth:`close`."""

    name: str
    run_id: str
    env_id: str
    log_dir: Path
    runs_images: bool = False
    """True when services run from container images (``RunConfig.images``), not host binaries."""

    @property
    @abc.abstractmethod
    def host_gateway(self) -> str:
        """Host name under which services reach the host (for Postgres)."""

    @property
    def bind_address(self) -> str:
        """Interface a service binds to inside its namespace (all of them, in a container)."""
        return "0.0.0.0"

    def postgres(self, configured_dsn: str) -> PostgresAccess:
        """The environment's Postgres; by default the configured server on the host."""
        return PostgresAccess(configured_dsn, configured_dsn)

    def file_path(self, host_file: Path) -> str:
        """The path under which a service sees ``host_file`` (listed in its ``ServiceSpec.files``)."""
        return str(host_file)

    @abc.abstractmethod
    def listen_port(self, service: str, port: int) -> int:
        """The port ``service`` should listen on for its well-known ``port``."""

    @abc.abstractmethod
    def internal_address(self, service: str, port: int) -> str:
        """``host:port`` under which other services reach ``service`` on ``port``."""

    @abc.abstractmethod
    def start(self, spec: ServiceSpec) -> RunningService:
        """Start the service and wait until it is ready (raises ServiceNotReady)."""

    @abc.abstractmethod
    def services(self) -> Mapping[str, RunningService]: ...

    @abc.abstractmethod
    def close(self, *, fast: bool = False) -> None:
        """Remove every service and network this runtime created, from the system and the run
        record; goes on after an error and raises the first one.  Idempotent.

        ``fast`` skips graceful stops (second Ctrl-C) but still removes everything.
        """

    def begin_teardown(self) -> None:
        """The environment is ending: services stopped from now on will not start again, so a
        runtime need not keep anything of them for a restart (:meth:`close` follows).  Default:
        nothing to do."""
        return None

    def node_migrator(self, command: tuple[str, ...], image: str) -> NodeMigrator | None:
        """How to run a node build once to completion on the host's side, so that it migrates a
        template database (:mod:`xmtpd_e2e.services.node_database_template`); None: this runtime
        cannot, and every node migrates its own database."""
        return None

    def reach_host_port(self, port: int) -> tuple[str, int]:
        """Host and port under which services reach ``port`` of the host (Postgres)."""
        return (self.host_gateway, port)

    def pause_unavailable(self) -> SetupError | None:
        """Why services cannot be paused (SIGSTOP, the cgroup freezer) here, or None when they can."""
        return None

    def network_faults_unavailable(self) -> SetupError | None:
        """Why network faults (rules and shaping inside services' network namespaces) cannot act
        here, with the fix, or None when they can.  By default: when services share the host's
        network, whose rules would hit every process on the machine."""
        if self.host_network_address() is not None:
            return None
        return SetupError(
            "network faults need every service in its own network namespace; on this runtime they share the "
            "host's network",
            "run as root with the ip, iptables, tc and nsenter commands and --local-network auto or namespaces "
            "(each local service then gets a namespace), or use --runtime docker",
        )

    def host_network_address(self) -> str | None:
        """The host's address on the environment's network, from which services see the
        framework's connections come; ``None`` when services share the host's network (then no
        service has a network namespace of its own, and network faults cannot be applied)."""
        return None

    def describe(self) -> dict[str, str]:
        """A short summary for reports."""
        return {"runtime": self.name, "env_id": self.env_id}
