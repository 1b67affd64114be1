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
from collections.abc import Callable, Mapping
from pathlib import Path


from xmtpd_e2e.config import LOCAL_NETWORKS
from xmtpd_e2e.errors import ServiceError, SetupError
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.base import NodeMigrator, ServiceSpec, ServiceState
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
        """In namespaces, a host port (Postgres) is reached at the bridge's address, forwarded
        to the host's loopback in the kernel (:meth:`NamespaceNetwork.forward_host_port`)."""
        if self.network is None:
            return ("127.0.0.1", port)
        return self.network.forward_host_port(port)

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

    def node_migrator(self, command: tuple[str, ...], image: str) -> NodeMigrator | None:
        """The node binary run once as a host process (the host reaches Postgres and the chain)."""
        executable = self._resolve(command[0])
        found = executable.stat()
        argv = [str(executable), *command[1:]]
        log_path = self.log_dir / "node-database-template.log"

        def run(variables: Mapping[str, str]) -> None:
            env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
            env[RUN_MARKER] = self.run_id  # a crashed run's cleanup finds it like any process
            with log_path.open("ab") as log:
                try:
                    subprocess.run(
                        argv, env={**env, **variables}, stdout=log, stderr=subprocess.STDOUT, timeout=60, check=False
                    )
                except subprocess.TimeoutExpired:
                    pass  # killed; whether it migrated is checked on the database

        return NodeMigrator(f"{executable.resolve()}:{found.st_size}:{found.st_mtime_ns}", run, on_host=True)

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
