"""The local runtime: every service is a host process, on its own loopback port or in its own
network namespace.

Why a second runtime: many CI runners and laptops have no usable Docker engine, and containers
add seconds to every start.  The processes run the same binaries the images hold, configured the
same way; only addressing differs (see :mod:`xmtpd_e2e.runtime.base`).

Two network modes.  As root (``--local-network auto`` or ``namespaces``), each service runs in
a network namespace of its own on a bridge the environment creates (:mod:`.netns`), listening on
its well-known ports at its own address, like a container; network faults need this.  Otherwise
(``loopback``) every process shares the host's loopback, each on a free port.

Each process gets its own session (and so its own process group), so a stop reaches every child
it may have spawned, and ``xmtpd-e2e cleanup`` can kill the group of a crashed run from the pid
recorded in the run state.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import requests

from xmtpd_e2e.config import LOCAL_NETWORKS
from xmtpd_e2e.errors import ServiceError, SetupError
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.base import RunningService, ServiceSpec, ServiceState
from xmtpd_e2e.runtime.lifecycle import ManagedRuntime, ManagedService
from xmtpd_e2e.runtime.netns import NamespaceNetwork, namespaces_available
from xmtpd_e2e.runtime.ports import PortAllocator
from xmtpd_e2e.runtime.processes import (
    PROCESS_KIND,
    RUN_MARKER,
    process_start_time,
    signal_group,
    wait_until_stopped,
)
from xmtpd_e2e.runtime.registry import LOCAL

__all__ = ["LocalRuntime", "LocalService"]

BinaryResolver = Callable[[str], Path]

# Variables passed through from the runner's environment; everything else a process sees comes
# from its spec, so a stray XMTPD_* variable in the user's shell cannot change a node.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
FORWARDER_API_PORT = 8474


class LocalService(ManagedService):
    """One host process group, restartable in place with the same command, ports and data."""

    runtime: LocalRuntime

    def __init__(
        self,
        runtime: LocalRuntime,
        spec: ServiceSpec,
        argv: list[str],
        namespace: Path | None = None,
        address: str | None = None,
    ) -> None:
        super().__init__(runtime, spec)
        # nsenter execs the program, so the pid (and process group) is still the program's own.
        self.argv = ["nsenter", f"--net={namespace}", *argv] if namespace is not None else argv
        self._namespace = namespace
        self._address = address
        self._process: subprocess.Popen[bytes] | None = None
        self.work_dir = runtime.work_dir / spec.name
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._record_id = f"{runtime.env_id}/{spec.name}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def host_address(self, port: int) -> tuple[str, int]:
        return (self._address or "127.0.0.1", port)

    def network_address(self) -> str | None:
        return self._address

    def network_namespace(self) -> Path | None:
        if self._namespace is not None:
            return self._namespace if self.main_pid() is not None else None
        return super().network_namespace()

    def fault_namespace(self) -> Path | None:
        """The service's named namespace: it outlives the process, with its rules."""
        return self._namespace if self._namespace is not None else self.network_namespace()

    def _launch_description(self) -> str:
        return " ".join(self.argv)

    def _launch(self) -> None:
        env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
        env.update(self.spec.env)
        env[RUN_MARKER] = self.runtime.run_id
        # Recorded before it exists (its pid is added once known): a runner killed in between
        # leaves a record without a pid, and cleanup finds the process by its run marker.
        self.runtime.run_state.record(PROCESS_KIND, self._record_id, argv=self.argv)
        with self.log_path.open("ab") as log:
            try:
                process = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.work_dir,
                    env=env,
                    start_new_session=True,  # its own process group
                )
            except OSError as exc:
                self.runtime.run_state.forget(PROCESS_KIND, self._record_id)
                raise ServiceError(f"{self.spec.name}: cannot run {self.argv[0]}: {exc}") from exc
        self._process = process
        self.runtime.run_state.record(
            PROCESS_KIND,
            self._record_id,
            pid=process.pid,
            pgid=process.pid,
            start_time=process_start_time(process.pid),
            argv=self.argv,
        )

    def _halt(self, graceful: bool, timeout: float) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            signal_group(process.pid, signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                process.wait(timeout=timeout if graceful else 5.0)
            except subprocess.TimeoutExpired:
                signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=5.0)
        if process is not None:
            signal_group(process.pid, signal.SIGKILL)  # children that ignored the signal go too
        self.runtime.run_state.forget(PROCESS_KIND, self._record_id)

    def _observe(self) -> ServiceState:
        process = self._process
        if process is None:
            return ServiceState.STOPPED
        if process.poll() is not None:
            return ServiceState.EXITED
        return ServiceState.PAUSED if self._paused else ServiceState.RUNNING

    def _signal_pause(self, pause: bool) -> None:
        process = self._process
        if process is not None:
            signal_group(process.pid, signal.SIGSTOP if pause else signal.SIGCONT)
            if pause:
                wait_until_stopped(process.pid)  # the kernel delivers SIGSTOP asynchronously

    def main_pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def _discard(self, fast: bool) -> None:
        self._halt(graceful=not fast, timeout=5.0)
        network = self.runtime.network
        if self._namespace is not None and network is not None:
            problems = network.remove_namespace(self.spec.name)
            if problems:
                raise ServiceError(f"removing {self.spec.name}'s network namespace: {'; '.join(problems)}")


class LocalRuntime(ManagedRuntime):
    """Host processes, namespaced or on loopback ports (see module docstring)."""

    name = LOCAL

    def __init__(
        self,
        run_state: RunState,
        env_id: str,
        log_dir: Path,
        resolve_binary: BinaryResolver,
        logger: logging.Logger | None = None,
        network: str = "auto",
    ) -> None:
        super().__init__(run_state, env_id, log_dir, logger)
        self.work_dir = log_dir.parent / "work"
        self._resolve = resolve_binary
        self._ports = PortAllocator()
        self._assigned: dict[tuple[str, int], int] = {}
        self._forwarded: dict[int, int] = {}
        self._forwarder: LocalService | None = None
        self._forwarder_lock = threading.Lock()
        self.network: NamespaceNetwork | None = None
        if network not in LOCAL_NETWORKS:
            raise SetupError(f"unknown local network mode {network!r}", f"use one of {', '.join(LOCAL_NETWORKS)}")
        unavailable = namespaces_available() if network != "loopback" else "loopback was asked for"
        if network == "namespaces" and unavailable:
            raise SetupError(
                f"the local runtime cannot give services their own network namespaces: {unavailable}",
                "run as root with ip, iptables and nsenter installed, or use --local-network loopback",
            )
        if unavailable is None:
            self.network = NamespaceNetwork(run_state, env_id, self.log)

    @property
    def network_mode(self) -> str:
        """``namespaces`` (one per service, on a bridge) or ``loopback`` (the host's, shared)."""
        return "namespaces" if self.network is not None else "loopback"

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "network": self.network_mode}

    @property
    def host_gateway(self) -> str:
        return self.network.host_address if self.network is not None else "127.0.0.1"

    @property
    def bind_address(self) -> str:
        return "0.0.0.0" if self.network is not None else "127.0.0.1"

    def host_network_address(self) -> str | None:
        return self.network.host_address if self.network is not None else None

    def reach_host_port(self, port: int) -> tuple[str, int]:
        """In namespaces, a host port (Postgres) is reached through a forwarder on the bridge."""
        if self.network is None:
            return ("127.0.0.1", port)
        return (self.network.host_address, self._forward_host_port(port))

    def _forward_host_port(self, port: int) -> int:
        """A toxiproxy in the host's namespace, listening on the bridge address and forwarding to
        ``port`` on the host's loopback; returns the port it listens on.  Not ``port`` itself: a
        service listening on every host address (Postgres does) holds that port on the bridge
        address too, but would see connections from the namespaces' addresses, which its access
        rules need not allow."""
        assert self.network is not None
        with self._forwarder_lock:
            if port in self._forwarded:
                return self._forwarded[port]
            if self._forwarder is None:
                bridge = self.network.host_address
                spec = ServiceSpec(
                    name="host-forwarder",
                    role="forwarder",
                    image="",
                    command=("toxiproxy-server", "-host", bridge, "-port", str(FORWARDER_API_PORT)),
                    ports=(FORWARDER_API_PORT,),
                    ready_log="Starting Toxiproxy HTTP server",
                    ready_check=_forwarder_api_answers,
                    ready_timeout=30,
                )
                self._forwarder = LocalService(
                    self, spec, [str(self._resolve("toxiproxy-server")), *spec.command[1:]], address=bridge
                )
                with self._lock:
                    self._services[spec.name] = self._forwarder
                self._forwarder.start()
            listen = self._ports.allocate()
            session = requests.Session()
            session.trust_env = False  # never send this through an HTTP proxy
            response = session.post(
                self._forwarder.host_url(FORWARDER_API_PORT) + "/proxies",
                json={
                    "name": f"host-{port}",
                    "listen": f"{self.network.host_address}:{listen}",
                    "upstream": f"127.0.0.1:{port}",
                    "enabled": True,
                },
                timeout=10,
            )
            if not response.ok:
                raise ServiceError(f"forwarding host port {port} into the namespaces failed: {response.text.strip()}")
            self._forwarded[port] = listen
            return listen

    def listen_port(self, service: str, port: int) -> int:
        if self.network is not None:
            return port  # every service has its own namespace, so its own ports
        with self._lock:
            key = (service, port)
            if key not in self._assigned:
                self._assigned[key] = self._ports.allocate()
            return self._assigned[key]

    def internal_address(self, service: str, port: int) -> str:
        if self.network is not None:
            return f"{self.network.address_of(service)}:{port}"
        return f"127.0.0.1:{self.listen_port(service, port)}"

    def _create(self, spec: ServiceSpec) -> LocalService:
        executable = self._resolve(spec.command[0])
        argv = [str(executable), *spec.command[1:]]
        if self.network is None:
            return LocalService(self, spec, argv)
        namespace = self.network.ensure_namespace(spec.name)
        return LocalService(self, spec, argv, namespace, self.network.address_of(spec.name))

    def _release(self) -> None:
        if self.network is not None:
            self.network.close()


def _forwarder_api_answers(service: RunningService) -> bool:
    """Toxiproxy logs that its HTTP server is starting just before it listens: ask it."""
    session = requests.Session()
    session.trust_env = False
    return session.get(service.host_url(FORWARDER_API_PORT) + "/version", timeout=2).ok
