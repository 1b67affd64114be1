"""The docker runtime: one bridge network per environment, one container per service.

Upstream parity: services reach each other by network alias (``node-100:5050``,
``anvil:8545``), the framework reaches them through ports published on 127.0.0.1, and
containers reach host Postgres as ``host.docker.internal``.  Unlike upstream, a stopped service
starts again under the same name, alias and address (a node, gateway or validation service is
made anew at its first restart, joined to the network holder its first stop made: nothing of
theirs lives in the container's filesystem; see :mod:`.docker_netns`), every object carries the
run id as a label and is recorded in the run state before it is created, and container output is
streamed to a log file per service, across restarts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.models.networks import Network

from xmtpd_e2e.errors import ServiceError, SetupError
from xmtpd_e2e.record import Reclaimer, RunState
from xmtpd_e2e.runtime import docker_netns, labels
from xmtpd_e2e.runtime.base import NodeMigrator, ServiceSpec, ServiceState
from xmtpd_e2e.runtime.lifecycle import ManagedRuntime, ManagedService
from xmtpd_e2e.runtime.registry import DOCKER, LOCAL

__all__ = [
    "DockerRuntime",
    "DockerService",
    "DOCKER_RESOURCES",
    "CONTAINER_KIND",
    "NETWORK_KIND",
    "docker_engine_answers",
]

CONTAINER_KIND = "container"
NETWORK_KIND = "network"
NETWORK_ATTEMPTS = 5


def docker_engine_answers() -> bool:
    """True when a Docker engine answers a ping within a few seconds."""
    try:
        client = docker.from_env(timeout=10)  # a loaded engine may take seconds; an absent one fails at once
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


class _LogPump(threading.Thread):
    """Copies a container's output into its log file until the container stops."""

    def __init__(self, container: Container, path: Path, since: float) -> None:
        super().__init__(name=f"logs-{container.name}", daemon=True)
        self._container = container
        self._path = path
        self._since = since

    def run(self) -> None:
        try:
            stream = self._container.logs(stream=True, follow=True, stdout=True, stderr=True, since=self._since)
            with self._path.open("ab") as log:
                for chunk in stream:
                    log.write(chunk)
                    log.flush()
        except (DockerException, OSError, ValueError):
            return


_STATES = {"running": ServiceState.RUNNING, "paused": ServiceState.PAUSED}


class DockerService(ManagedService):
    """One container, started again in place (same name, network alias and address)."""

    runtime: DockerRuntime

    def __init__(self, runtime: DockerRuntime, spec: ServiceSpec, container: Container) -> None:
        super().__init__(runtime, spec)
        self._container = container
        self._holder: Container | None = None
        """The container that keeps this service's address and network namespace once it first
        stopped (see :mod:`.docker_netns`)."""
        self._address: str | None = None
        """Its address on the environment's network, as first given."""
        self._host_ports: dict[int, int] = {}
        """The host ports its ports were first published on: its holder keeps them, so a client
        that reached it there reaches it again after a restart."""
        self._network_owner = container
        self._ports: dict[int, tuple[str, int]] = {}
        self._pump: _LogPump | None = None

    @property
    def container_name(self) -> str:
        return str(self._container.name)

    def host_address(self, port: int) -> tuple[str, int]:
        """The published host port for ports of the spec; any other port (a toxiproxy listener
        created later) at the container's address on the environment's bridge network, which a
        Linux host routes to -- so a service can open any number of ports after it started."""
        with self._lock:
            if port not in self._ports:
                self._network_owner.reload()
                settings = self._network_owner.attrs["NetworkSettings"]
                if port in self.spec.ports:
                    bindings = (settings["Ports"] or {}).get(f"{port}/tcp")
                    if not bindings:
                        raise ServiceError(f"{self.spec.name}: port {port} is not published (is it running?)")
                    self._ports[port] = (bindings[0]["HostIp"] or "127.0.0.1", int(bindings[0]["HostPort"]))
                else:
                    network = (settings.get("Networks") or {}).get(self.runtime.network_name) or {}
                    if not network.get("IPAddress"):
                        raise ServiceError(
                            f"{self.spec.name} has no address on {self.runtime.network_name} (is it running?)"
                        )
                    self._ports[port] = (str(network["IPAddress"]), port)
            return self._ports[port]

    def _launch_description(self) -> str:
        return f"container {self.container_name}"

    def _launch(self) -> None:
        self._ports.clear()  # published host ports are chosen anew at every start
        if self._holder is not None:
            docker_netns.ensure_running(self._holder)
        since = time.time()  # fractional: a restart within the same second must not copy old output again
        self._container.start()
        self._pump = _LogPump(self._container, self.log_path, since)
        self._pump.start()
        if self._address is None and self.spec.role in docker_netns.HOLDER_ROLES:
            self._remember_place()

    def _launch_with(self, before_run: Callable[[], None] | None) -> None:
        """A service that ran before and has a holder role starts again in its holder's
        namespace: the holder is made if its first stop did not make it (the service ended by
        itself), ``before_run`` puts the faults into that namespace, and the service's container
        is made anew joined to it (a container's network mode is fixed at its creation)."""
        self._hold_address()
        if self._holder is None or self._network_owner is self._holder:
            super()._launch_with(before_run)
            return
        docker_netns.ensure_running(self._holder)
        if before_run is not None:
            before_run()
        self._remove_container()
        self._container = self.runtime._create_service_container(
            self.spec, {"network_mode": f"container:{self._holder.name}"}
        )
        self._network_owner = self._holder
        self._launch()

    def _remember_place(self) -> None:
        """Its address and published host ports, for a holder to take over at its first stop."""
        self._container.reload()
        settings = self._container.attrs["NetworkSettings"]
        network = (settings.get("Networks") or {}).get(self.runtime.network_name) or {}
        self._address = str(network.get("IPAddress") or "") or None
        for port in self.spec.ports:
            bindings = (settings.get("Ports") or {}).get(f"{port}/tcp") or []
            if bindings:
                self._host_ports[port] = int(bindings[0]["HostPort"])

    def _hold_address(self) -> None:
        """Once stopped, a service of a holder role gets a holder at its address at once, so
        the address stays (refusing connections, as a stopped process's host does) and keeps
        the faults put into it until the service runs again."""
        if self._holder is not None or self._address is None or self.runtime.tearing_down:
            return
        self._holder = self.runtime._create_holder(self.spec, self._address, self._host_ports)

    def _settle_logs(self) -> None:
        if self._pump is not None:
            self._pump.join(timeout=5)  # its stream ends once the container has stopped

    def _halt(self, graceful: bool, timeout: float) -> None:
        self._ports.clear()
        try:
            if graceful:
                self._container.stop(timeout=int(max(1, timeout)))
            else:
                self._container.kill()
                self._container.wait(timeout=30)
        except NotFound:
            return
        except APIError as error:
            if "is not running" not in str(error):
                raise ServiceError(f"stopping {self.spec.name} failed: {error}") from error
        self._hold_address()

    def _observe(self) -> ServiceState:
        try:
            self._container.reload()
        except NotFound:
            return ServiceState.STOPPED
        status = str(self._container.status)
        if status == "created":
            return ServiceState.STOPPED
        return _STATES.get(status, ServiceState.EXITED)

    def _signal_pause(self, pause: bool) -> None:
        try:
            self._container.pause() if pause else self._container.unpause()
        except APIError as error:
            raise ServiceError(f"{'pausing' if pause else 'resuming'} {self.spec.name} failed: {error}") from error

    def network_address(self) -> str | None:
        try:
            self._network_owner.reload()
        except NotFound:
            return None
        network = self._network_owner.attrs["NetworkSettings"]["Networks"].get(self.runtime.network_name) or {}
        return str(network.get("IPAddress") or "") or None

    def main_pid(self) -> int | None:
        try:
            self._container.reload()
        except NotFound:
            return None
        pid = int(self._container.attrs["State"].get("Pid") or 0)
        return pid if pid > 0 else None

    def fault_namespace(self) -> Path | None:
        """The holder's namespace: it outlives this container's restarts, with its rules."""
        if self._holder is not None:
            return docker_netns.namespace_of(self._holder)
        return self.network_namespace()

    def _remove_container(self) -> None:
        try:
            self.runtime.client.api.remove_container(self.container_name, force=True)
        except NotFound:
            pass
        except DockerException as error:
            raise ServiceError(f"removing {self.container_name} failed: {error}") from error
        self.runtime.run_state.forget(CONTAINER_KIND, self.container_name)

    def _discard(self, fast: bool) -> None:
        self._remove_container()
        if self._holder is not None:
            docker_netns.remove_holder(self._holder)
            self.runtime.run_state.forget(CONTAINER_KIND, str(self._holder.name))


class DockerRuntime(ManagedRuntime):
    name = DOCKER
    runs_images = True

    def __init__(
        self,
        run_state: RunState,
        env_id: str,
        log_dir: Path,
        logger: logging.Logger | None = None,
        *,
        holder_image: str | None = None,
    ) -> None:
        super().__init__(run_state, env_id, log_dir, logger)
        try:
            self.client = docker.from_env(timeout=120)
            self.client.ping()
        except DockerException as error:
            raise SetupError(
                f"no Docker engine answers ({error})",
                f"start Docker (scripts/setup does it as root), or use --runtime {LOCAL}",
            ) from error
        self.network_name = f"xmtpd-e2e-{self.run_id}-{env_id}"
        self._labels = labels.labels_for(self.run_id, env_id, self.network_name)
        self._images_checked: set[str] = set()
        self._holder_image = holder_image
        """toxiproxy's image (given, or once its service was created): what a network holder
        runs; before it is known no service gets a holder."""
        self._network = self._create_network()

    def _create_network(self) -> Network:
        """The environment's bridge network, on a subnet Docker chose (from its configured
        address pools) and this runtime then names: Docker gives a container a fixed address
        (``ipv4_address``) only on a network whose subnet was given, and a held service keeps its
        address (:mod:`.docker_netns`).  Another network may take the subnet between the probe and
        the creation; then a new probe."""
        last: APIError | None = None
        for _ in range(NETWORK_ATTEMPTS):
            probe_name = f"{self.network_name}-probe"
            self.run_state.record(NETWORK_KIND, probe_name)
            probe = self.client.networks.create(probe_name, driver="bridge", labels=self._labels)
            try:
                pool = probe.attrs["IPAM"]["Config"][0]
            finally:
                probe.remove()
                self.run_state.forget(NETWORK_KIND, probe_name)
            ipam = docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=pool["Subnet"], gateway=pool.get("Gateway"))]
            )
            self.run_state.record(NETWORK_KIND, self.network_name)
            try:
                return self.client.networks.create(self.network_name, driver="bridge", labels=self._labels, ipam=ipam)
            except APIError as error:
                self.run_state.forget(NETWORK_KIND, self.network_name)
                if "overlaps" not in str(error):
                    raise
                last = error
        raise ServiceError(f"creating network {self.network_name}: every subnet Docker offered was taken: {last}")

    @property
    def host_gateway(self) -> str:
        return "host.docker.internal"

    def listen_port(self, service: str, port: int) -> int:
        return port

    def internal_address(self, service: str, port: int) -> str:
        return f"{service}:{port}"

    def file_path(self, host_file: Path) -> str:
        return f"/xmtpd-e2e/files/{host_file.name}"  # bind-mounted read-only from the host

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "network": self.network_name}

    def host_network_address(self) -> str | None:
        """The network's gateway: docker-proxy forwards published ports from it."""
        self._network.reload()
        configs = self._network.attrs.get("IPAM", {}).get("Config") or [{}]
        return str(configs[0].get("Gateway") or "") or None

    def _network_settings(self, spec: ServiceSpec, address: str | None = None) -> dict[str, Any]:
        """Where a service's container sits: its own place on the environment network (at
        ``address``, when given)."""
        endpoint = self.client.api.create_endpoint_config(aliases=[spec.name], ipv4_address=address)
        return {
            "ports": {f"{port}/tcp": ("127.0.0.1", None) for port in spec.ports},
            "extra_hosts": {"host.docker.internal": "host-gateway"},
            "network": self.network_name,
            "networking_config": {self.network_name: endpoint},
        }

    def _create(self, spec: ServiceSpec) -> DockerService:
        if spec.role == "chaos" and self._holder_image is None:
            self._holder_image = spec.image
        self._ensure_image(spec.image)
        container = self._create_service_container(spec, self._network_settings(spec))
        return DockerService(self, spec, container)

    def _container_name(self, spec: ServiceSpec) -> str:
        return f"{self.network_name}-{spec.name}"

    def _create_service_container(self, spec: ServiceSpec, network: dict[str, Any]) -> Container:
        """The service's own container, with ``network`` its place (its own, or a holder's)."""
        return self._create_container(
            self._container_name(spec),
            spec,
            {
                "image": spec.image,
                "command": list(spec.command[1:]) or None,  # the image's entrypoint is the program
                "environment": dict(spec.env),
                "volumes": {str(path): {"bind": self.file_path(path), "mode": "ro"} for path in spec.files},
                "detach": True,
                **network,
            },
        )

    def _create_holder(self, spec: ServiceSpec, address: str, host_ports: Mapping[int, int]) -> Container | None:
        """A started network holder for ``spec``'s service at ``address``, publishing its ports on
        ``host_ports`` where given (see :mod:`.docker_netns`); None when its role has none or no
        holder image is known."""
        if spec.role not in docker_netns.HOLDER_ROLES or self._holder_image is None:
            return None
        self._ensure_image(self._holder_image)
        network = self._network_settings(spec, address)
        network["ports"] = {
            f"{port}/tcp": ("127.0.0.1", host_ports.get(port)) for port in spec.ports
        }  # None: any free port
        options = {**docker_netns.holder_options(self._holder_image), **network}
        holder = self._create_container(docker_netns.holder_name(self._container_name(spec)), spec, options)
        try:
            docker_netns.ensure_running(holder)
        except ServiceError:  # e.g. its address was taken meanwhile: nothing of it stays
            docker_netns.remove_holder(holder)
            self.run_state.forget(CONTAINER_KIND, str(holder.name))
            raise
        return holder

    def node_migrator(self, command: tuple[str, ...], image: str) -> NodeMigrator | None:
        """The node image run once as a container on the environment's network."""
        self._ensure_image(image)
        try:
            build = str(self.client.images.get(image).id)
        except DockerException:
            return None
        spec = ServiceSpec(name="node-database-template", role="node-database-template", image=image, command=command)
        name = f"{self.network_name}-{spec.name}"

        def run(variables: Mapping[str, str]) -> None:
            settings = self._network_settings(spec)
            options = {
                "image": image,
                "command": list(command[1:]) or None,
                "environment": dict(variables),
                "detach": True,
                "extra_hosts": settings["extra_hosts"],
                "network": settings["network"],
            }
            container = self._create_container(name, spec, options)
            try:
                container.start()
                container.wait(timeout=60)
            except (DockerException, requests.exceptions.RequestException):
                pass  # whether it migrated is checked on the database
            finally:
                try:
                    (self.log_dir / "node-database-template.log").write_bytes(container.logs())
                except DockerException:
                    pass  # the logs are a convenience; the container goes regardless
                try:
                    container.remove(force=True)
                except DockerException:
                    pass  # recorded and labelled: cleanup finds it
                else:
                    self.run_state.forget(CONTAINER_KIND, name)

        return NodeMigrator(build, run, on_host=False)

    def _create_container(self, name: str, spec: ServiceSpec, options: dict[str, Any]) -> Container:
        """Record and create one container of ``spec`` (the service's, or its network holder)."""
        self.run_state.record(CONTAINER_KIND, name, env=self.env_id, service=spec.name)
        try:
            return self.client.containers.create(
                name=name, labels={**self._labels, labels.SERVICE: spec.name, labels.ROLE: spec.role}, **options
            )
        except DockerException as error:
            self.run_state.forget(CONTAINER_KIND, name)
            raise ServiceError(f"creating the {name} container from {options['image']} failed: {error}") from error

    def _release(self) -> None:
        try:
            self._network.remove()
        except NotFound:
            pass
        except DockerException as error:
            raise ServiceError(f"removing network {self.network_name} failed: {error}") from error
        self.run_state.forget(NETWORK_KIND, self.network_name)

    def _ensure_image(self, image: str) -> None:
        if image in self._images_checked:
            return
        try:
            self.client.images.get(image)
        except ImageNotFound:
            try:
                self.client.images.pull(image)
            except DockerException as error:
                raise SetupError(
                    f"image {image} is not present and cannot be pulled: {_engine_reason(error)}",
                    "build local images with `xmtpd-e2e infra build-images` (`xmtpd-e2e infra install` does it) and select "
                    "them with `--image-set local`, or name available images with --xmtpd-image/--gateway-image/"
                    "--chain-image",
                ) from error
        self._images_checked.add(image)


def _remove_run_objects(state: RunState, logger: logging.Logger) -> list[str]:
    """Containers, then networks, of the run: those recorded and those labelled with its id."""
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except DockerException as error:
        return [f"no Docker engine answers, cannot remove the run's containers/networks ({error})"]
    problems: list[str] = []
    run_filter = {"label": f"{labels.RUN}={state.run_id}"}
    try:
        containers = {c.name: c for c in client.containers.list(all=True, filters=run_filter)}
        for resource in state.resources(CONTAINER_KIND):
            if resource.ident not in containers:
                try:
                    containers[resource.ident] = client.containers.get(resource.ident)
                except NotFound:
                    state.forget(CONTAINER_KIND, resource.ident)
        for name, container in containers.items():
            try:
                container.remove(force=True)
                state.forget(CONTAINER_KIND, name)
            except NotFound:
                state.forget(CONTAINER_KIND, name)
            except DockerException as error:
                problems.append(f"container {name}: {error}")
        networks = {n.name: n for n in client.networks.list(filters=run_filter)}
        for resource in state.resources(NETWORK_KIND):
            if resource.ident not in networks:
                found = client.networks.list(names=[resource.ident])
                if found:
                    networks[resource.ident] = found[0]
                else:
                    state.forget(NETWORK_KIND, resource.ident)
        for name, network in networks.items():
            try:
                network.remove()
                state.forget(NETWORK_KIND, name)
            except NotFound:
                state.forget(NETWORK_KIND, name)
            except DockerException as error:
                problems.append(f"network {name}: {error}")
    finally:
        client.close()
    logger.debug("docker objects of %s removed", state.run_id)
    return problems


def _reclaim(state: RunState, logger: logging.Logger) -> list[str]:
    """Without a recorded container or network, an absent engine is no problem: the run may
    never have used docker, yet labelled leftovers are still searched for when one answers."""
    recorded = state.resources(CONTAINER_KIND) or state.resources(NETWORK_KIND)
    if not recorded and not docker_engine_answers():
        return []
    problems = _remove_run_objects(state, logger)
    return problems if state.resources(CONTAINER_KIND) or state.resources(NETWORK_KIND) else []


DOCKER_RESOURCES = Reclaimer((CONTAINER_KIND, NETWORK_KIND), _reclaim, order=20)


def _engine_reason(error: DockerException) -> str:
    """The engine's whole explanation, on one line (never cut: its end says what was denied)."""
    explanation = getattr(error, "explanation", None)
    text = explanation.decode(errors="replace") if isinstance(explanation, bytes) else str(explanation or error)
    return " ".join(text.split())
