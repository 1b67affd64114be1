"""The kubernetes runtime: a namespace per environment, a pod and a headless Service per service.

Services reach each other by Service name (``node-100:5050``) through cluster DNS; the framework
reaches a pod's port at the pod's IP when the runner's host routes to the pod network, else
through a port-forward on 127.0.0.1 (any cluster its kubeconfig reaches): see ``access``.
A pod never restarts by itself (``restartPolicy: Never``); starting a service again replaces its
pod by one with the same name, spec and identity (a node's data lives in the environment's
Postgres, which runs in the namespace too).  The namespace carries the run id as a label and is
recorded before it is created; closing deletes it and waits until it is gone.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes.client.exceptions import ApiException

from xmtpd_e2e.config import Images
from xmtpd_e2e.errors import ServiceError, SetupError, WaitTimeout
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.base import PostgresAccess, RunningService, ServiceSpec, ServiceState
from xmtpd_e2e.runtime.kubernetes.access import AUTO, KUBE_ACCESS, POD_IP, PORT_FORWARD, pod_ip_answers
from xmtpd_e2e.runtime.kubernetes.cleanup import (
    NAMESPACE_KIND,
    POD_KIND,
    forget_pods_of,
    pod_ident,
    wait_namespace_gone,
)
from xmtpd_e2e.runtime.kubernetes.connection import connect
from xmtpd_e2e.runtime.kubernetes.host_side import container_pid, container_pids
from xmtpd_e2e.runtime.kubernetes.manifests import (
    FAULT_GATE,
    fault_gate_container,
    file_path,
    namespace_manifest,
    namespace_name,
    pod_manifest,
    service_manifest,
)
from xmtpd_e2e.runtime.kubernetes.port_forward import PodPortForward
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.runtime.lifecycle import ManagedRuntime, ManagedService
from xmtpd_e2e.runtime.processes import wait_until_stopped
from xmtpd_e2e.runtime.registry import KUBERNETES

if TYPE_CHECKING:
    from xmtpd_e2e.infra.images import ImageRecipe
    from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout

__all__ = ["KubernetesRuntime", "KubernetesService", "SCHEDULING_ALLOWANCE"]

POSTGRES_SERVICE = "postgres"
POSTGRES_PORT = 5432
SCHEDULING_ALLOWANCE = 60.0
"""Seconds a pod may take to be scheduled and get its container started, before (and on top of)
the service's own readiness timeout."""
_FATAL_WAITING = {
    "ErrImageNeverPull",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def _not_found(error: ApiException) -> bool:
    return getattr(error, "status", None) == 404


class _PodLogPump(threading.Thread):
    """Appends one pod's container output (and why it is not starting, if so) to the log file."""

    def __init__(self, service: KubernetesService, uid: str) -> None:
        super().__init__(name=f"logs-{service.spec.name}", daemon=True)
        self._service = service
        self._uid = uid
        self._lock = threading.Lock()
        self._noted = ""

    def note_reason(self, reason: str) -> None:
        """Write why the pod is not starting into the log, once per reason."""
        with self._lock:
            if reason == self._noted:
                return
            self._noted = reason
            with self._service.log_path.open("ab") as log:
                log.write(f"---- xmtpd-e2e: pod {self._service.spec.name}: {reason}\n".encode())

    def run(self) -> None:
        service = self._service
        core, namespace, name = service.runtime.connection.core, service.runtime.namespace, service.spec.name
        try:
            while True:  # until the container has started (or the pod is gone/replaced)
                pod = core.read_namespaced_pod(name, namespace, _request_timeout=10)
                if pod.metadata.uid != self._uid:
                    return
                reason = _waiting_reason(pod)
                if reason:
                    self.note_reason(reason)
                if _container_started(pod):
                    break
                time.sleep(0.3)
            stream = core.read_namespaced_pod_log(
                name, namespace, container="main", follow=True, _preload_content=False
            )
            with service.log_path.open("ab") as log:
                for chunk in stream.stream(64 * 1024):
                    log.write(chunk)
                    log.flush()
        except Exception:  # the pod was deleted: its output ends here
            return


def _open_gate(fifo: Path) -> bool:
    """Write the line the fault gate waits for; False while the gate has not opened the FIFO."""
    try:
        descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ENXIO:  # no reader yet
            return False
        raise
    try:
        os.write(descriptor, b"open\n")
    finally:
        os.close(descriptor)
    return True


def _container_started(pod: Any) -> bool:
    for status in pod.status.container_statuses or []:
        if status.state and (status.state.running or status.state.terminated):
            return True
    return False


def _waiting_reason(pod: Any) -> str:
    for status in pod.status.container_statuses or []:
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason not in (None, "ContainerCreating", "PodInitializing"):
            return f"{waiting.reason}: {waiting.message or ''}".strip()
    for condition in pod.status.conditions or []:
        if condition.type == "PodScheduled" and condition.status == "False":
            return f"not scheduled ({condition.reason}): {condition.message or ''}".strip()
    return ""


def _accepts_sql(service: RunningService) -> bool:
    import psycopg

    host, port = service.host_address(POSTGRES_PORT)
    with psycopg.connect(f"postgres://postgres@{host}:{port}/postgres?sslmode=disable", connect_timeout=3) as conn:
        conn.execute("SELECT 1")
    return True


class KubernetesService(ManagedService):
    """One pod, replaced by an identical one when started again."""

    runtime: KubernetesRuntime

    def __init__(self, runtime: KubernetesRuntime, spec: ServiceSpec) -> None:
        super().__init__(runtime, spec)
        self._uid: str | None = None
        self._pump: _PodLogPump | None = None
        self._pod_ip: str | None = None
        """The running pod's IP, read once per start (a new pod gets a new one)."""
        self._gate_pid: int | None = None
        """The fault gate's pid while it holds a restarted pod's program back."""

    # -- addressing ------------------------------------------------------------------------------
    def host_address(self, port: int) -> tuple[str, int]:
        """The pod's IP and ``port`` (pod-ip access), or a loopback port forwarded to it."""
        if self.runtime.access_for(self, port) == POD_IP:
            ip = self.pod_ip()
            if ip is None:
                raise ServiceError(f"{self.spec.name} has no pod IP (is it running?)")
            return (ip, port)
        return self.runtime.forward(self.spec.name, port)

    def pod_ip(self) -> str | None:
        """The IP of the pod while it runs (cached until it is stopped or started again)."""
        if self._pod_ip is None:
            self._pod_ip = self.network_address()
        return self._pod_ip

    # -- lifecycle -------------------------------------------------------------------------------
    def _launch_description(self) -> str:
        return f"pod {self.runtime.namespace}/{self.spec.name}"

    def _read(self) -> Any:
        try:
            return self.runtime.connection.core.read_namespaced_pod(
                self.spec.name, self.runtime.namespace, _request_timeout=15
            )
        except ApiException as error:
            if _not_found(error):
                return None
            raise ServiceError(f"reading pod {self.spec.name} failed: {error.reason}") from error

    def _delete_pod(self, grace: int, *, wait: float) -> None:
        core, namespace = self.runtime.connection.core, self.runtime.namespace
        try:
            core.delete_namespaced_pod(self.spec.name, namespace, grace_period_seconds=grace, _request_timeout=15)
        except ApiException as error:
            if not _not_found(error):
                raise ServiceError(f"deleting pod {self.spec.name} failed: {error.reason}") from error
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and self._read() is not None:
            time.sleep(0.2)

    def _launch(self) -> None:
        self._create_pod()
        self._wait_container_started()

    def _launch_with(self, before_run: Callable[[], None] | None) -> None:
        """On the framework's local cluster a pod started with ``before_run`` gets a fault gate
        (an init container, see ``fault_gate_container``): ``before_run`` runs in the new pod's
        network namespace while the gate holds the program back.  On another cluster the
        framework cannot enter the pod's namespace, so there is nothing to install before."""
        work_dir = self.runtime.work_dir(self.spec.name)
        if before_run is None or work_dir is None:
            self._launch()
            return
        from xmtpd_e2e.runtime.kubernetes.images import POSTGRES_IMAGE  # has the shell the gate needs

        work_dir.mkdir(parents=True, exist_ok=True)
        fifo = work_dir / FAULT_GATE
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo, 0o666)
        os.chmod(fifo, 0o666)  # the image's user reads it, whatever the umask
        try:
            self._create_pod(init_containers=[fault_gate_container(POSTGRES_IMAGE, self.runtime.pull_policy)])
            self._hold_at_gate(fifo, before_run)
        finally:
            fifo.unlink(missing_ok=True)
        self._wait_container_started()

    def _hold_at_gate(self, fifo: Path, before_run: Callable[[], None]) -> None:
        """Once the gate runs (the pod's network namespace exists), run ``before_run`` with the
        namespace reachable through the gate's pid, then open the gate."""
        layout = self.runtime.connection.local
        assert layout is not None
        try:
            self._gate_pid = wait_until(
                lambda: self._running_gate_pid(layout),
                lambda pid: pid is not None,
                timeout=SCHEDULING_ALLOWANCE,
                description=f"{self.spec.name}'s fault gate to run",
                max_interval=0.2,
            )
        except WaitTimeout:  # the pod never got that far: its readiness says why
            return
        held = time.monotonic()
        try:
            before_run()
        finally:
            self._gate_pid = None
            if self._pump is not None:
                self._pump.note_reason(
                    f"its faults were put into the new pod's network namespace before the program ran "
                    f"(fault gate held it {time.monotonic() - held:.1f}s)"
                )
            wait_until(
                lambda: _open_gate(fifo),
                bool,
                timeout=30,
                description=f"{self.spec.name}'s fault gate to take the signal to open",
                max_interval=0.2,
            )

    def _running_gate_pid(self, layout: ClusterLayout) -> int | None:
        pod = self._read()
        if pod is None or pod.status.phase not in (None, "Pending"):
            raise ServiceError(f"pod {self.spec.name} ended before its fault gate opened")
        for status in pod.status.init_container_statuses or []:
            if status.state and status.state.running and status.container_id:
                return container_pid(layout, str(status.container_id))
        return None

    def _create_pod(self, init_containers: Sequence[dict[str, Any]] = ()) -> None:
        self._pod_ip = None
        if self._read() is not None:  # the previous pod (stopped or crashed) keeps the name
            self._delete_pod(0, wait=60)
        manifest = pod_manifest(
            self.spec,
            self.runtime.run_id,
            self.runtime.env_id,
            pull_policy=self.runtime.pull_policy,
            work_volume=self.runtime.work_volume(self.spec.name),
            extra={"initContainers": list(init_containers)} if init_containers else None,
        )
        try:
            pod = self.runtime.connection.core.create_namespaced_pod(
                self.runtime.namespace, manifest, _request_timeout=30
            )
        except ApiException as error:
            raise ServiceError(f"creating pod {self.spec.name} failed: {error.reason}: {error.body}") from error
        self._uid = pod.metadata.uid
        self._pump = _PodLogPump(self, str(self._uid))
        self._pump.start()

    def _wait_container_started(self) -> None:
        # Scheduling and sandbox set-up come before the service runs: the readiness deadline
        # (the service's own ready_timeout) starts once its container has started.
        deadline = time.monotonic() + SCHEDULING_ALLOWANCE
        while time.monotonic() < deadline:
            current = self._read()
            if (
                current is None
                or _container_started(current)
                or current.status.phase in ("Succeeded", "Failed")
                or _waiting_reason(current).split(":", 1)[0] in _FATAL_WAITING
            ):
                break
            time.sleep(0.1)

    def _reachable_by_name(self) -> bool:
        """The Service's EndpointSlices list this pod's IP: cluster DNS answers the name from
        them, so before that a service dialling it by name (toxiproxy, per connection) fails."""
        from kubernetes import client

        ip = self.pod_ip()
        if ip is None:
            return False
        try:
            slices = client.DiscoveryV1Api(self.runtime.connection.api_client).list_namespaced_endpoint_slice(
                self.runtime.namespace,
                label_selector=f"kubernetes.io/service-name={self.spec.name}",
                _request_timeout=10,
            )
        except ApiException as error:
            if error.status == 403:  # a cluster that does not let us read them: the name is trusted
                return True
            raise ServiceError(f"reading the endpoints of Service {self.spec.name} failed: {error.reason}") from error
        return any(ip in (endpoint.addresses or []) for item in slices.items for endpoint in item.endpoints or [])

    def _settle_logs(self) -> None:
        if self._pump is not None:
            self._pump.join(timeout=5)  # its stream ends once the container has stopped

    def _container_id(self, pod: Any) -> str | None:
        for status in (pod.status.container_statuses or []) if pod is not None else []:
            if status.container_id:
                return str(status.container_id)
        return None

    def _namespace_pid(self) -> int | None:
        """The program or, while the fault gate holds it back, the gate: every container of a pod
        shares its network namespace (and its resolv.conf)."""
        return self._gate_pid or self.main_pid()

    def name_servers(self) -> tuple[str, ...]:
        """The ``nameserver`` lines of the pod's resolv.conf (the cluster DNS), read through its
        process on the local cluster; none elsewhere (no namespace fault acts there)."""
        pid = self._namespace_pid()
        if pid is None:
            return ()
        try:
            lines = Path(f"/proc/{pid}/root/etc/resolv.conf").read_text().splitlines()
        except OSError:
            return ()
        return tuple(line.split()[1] for line in lines if line.startswith("nameserver ") and len(line.split()) > 1)

    def network_address(self) -> str | None:
        """The pod's IP (a new one after each start)."""
        pod = self._read()
        if pod is None or pod.status.phase != "Running":
            return None
        return str(pod.status.pod_ip or "") or None

    def main_pid(self) -> int | None:
        layout = self.runtime.connection.local
        if layout is None:
            return None
        pod = self._read()
        if pod is None or pod.status.phase != "Running":
            return None
        container_id = self._container_id(pod)
        return container_pid(layout, container_id) if container_id else None

    def _halt(self, graceful: bool, timeout: float) -> None:
        self._pod_ip = None
        pid = self.main_pid()
        if pid is not None:
            # On the local cluster the signal goes to the process itself, as on the other
            # runtimes: SIGKILL is a real crash.  The pod stays (Succeeded/Failed) until started again.
            for sig, wait in (
                ((signal.SIGTERM, timeout), (signal.SIGKILL, 30.0)) if graceful else ((signal.SIGKILL, 30.0),)
            ):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and self._observe() is ServiceState.RUNNING:
                    time.sleep(0.1)
                if self._observe() is not ServiceState.RUNNING:
                    break
        else:
            # Through the API: SIGTERM, then SIGKILL after the grace period (at least ~2 s when 0).
            self._delete_pod(int(max(0, round(timeout))) if graceful else 0, wait=timeout + 60)
        self._pod_ip = None  # read meanwhile, it would name the stopped pod
        self._settle_logs()

    def _observe(self) -> ServiceState:
        pod = self._read()
        if pod is None:
            return ServiceState.STOPPED
        phase = pod.status.phase
        if phase in ("Succeeded", "Failed") or pod.metadata.deletion_timestamp is not None:
            self._settle_logs()  # whoever sees the exit also sees the last output
            return ServiceState.EXITED
        if phase == "Pending":
            reason = _waiting_reason(pod)
            if reason.split(":", 1)[0] in _FATAL_WAITING:
                if self._pump is not None:
                    self._pump.note_reason(reason)
                return ServiceState.EXITED
            return ServiceState.RUNNING
        if self._paused:
            return ServiceState.PAUSED
        return ServiceState.RUNNING

    def _signal_pause(self, pause: bool) -> None:
        pid = self.main_pid()
        if pid is None:
            raise ServiceError(
                f"{'pausing' if pause else 'resuming'} {self.spec.name} needs the framework's local cluster "
                "(it signals the container's processes on the node); this cluster offers no pause"
            )
        members = container_pids(pid)
        for member in members:
            try:
                os.kill(member, signal.SIGSTOP if pause else signal.SIGCONT)
            except ProcessLookupError:
                continue
        if pause:
            for member in members:
                wait_until_stopped(member)  # the kernel delivers SIGSTOP asynchronously

    def _discard(self, fast: bool) -> None:
        self.runtime.drop_forwards(self.spec.name)
        pid = self.main_pid() if fast else None
        if pid is not None:  # fast: no SIGTERM (a deletion always sends one first)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._delete_pod(0 if fast else 5, wait=0)


class KubernetesRuntime(ManagedRuntime):
    name = KUBERNETES
    runs_images = True

    def __init__(
        self,
        run_state: RunState,
        env_id: str,
        log_dir: Path,
        logger: logging.Logger | None = None,
        *,
        context: str | None = None,
        access: str = AUTO,
        images: Images | None = None,
        xmtpd_version: str | None = None,
        extra_images: Sequence[ImageRecipe] = (),
    ) -> None:
        super().__init__(run_state, env_id, log_dir, logger)
        if access not in KUBE_ACCESS:
            raise SetupError(f"unknown kubernetes access {access!r}", f"use --kube-access {' | '.join(KUBE_ACCESS)}")
        self._access: str | None = None if access == AUTO else access
        self._access_lock = threading.Lock()
        self.context = context
        self.connection = connect(context)
        self.namespace = namespace_name(self.run_id, env_id)
        self.pull_policy = "IfNotPresent"
        self._forwards: dict[tuple[str, int], PodPortForward] = {}
        self._forward_lock = threading.Lock()
        if extra_images and self.connection.local is None:
            raise SetupError(
                f"the images built here ({', '.join(r.tag for r in extra_images)}) can be loaded only into the "
                "framework's local cluster, not into the one this kubeconfig names",
                "pass --mls-validation-image with an image that cluster can pull (upstream's is "
                "ghcr.io/xmtp/mls-validation-service:<tag>), or use the local cluster",
            )
        if self.connection.local is not None and images is not None:
            from xmtpd_e2e.runtime.kubernetes.images import POSTGRES_IMAGE, load_images

            from xmtpd_e2e.services.chain import anvil_state_path

            tags = {value for value in dataclasses.asdict(images).values() if isinstance(value, str)}
            load_images(
                tags | {POSTGRES_IMAGE},
                xmtpd_version or "",
                self.connection.local,
                baked_files={images.chain: [anvil_state_path()]},
                say=lambda message: self.log.info("%s", message),
                extra=extra_images,
            )
            self.pull_policy = "Never"  # imported images; nothing can be pulled
        volumes = self.connection.local.root / "volumes" / self.namespace if self.connection.local else None
        run_state.record(
            NAMESPACE_KIND,
            self.namespace,
            kubeconfig=self.connection.kubeconfig,
            context=context or "",
            server=self.connection.server,
            volumes=str(volumes or ""),
        )
        try:
            self.connection.core.create_namespace(
                namespace_manifest(self.namespace, self.run_id, env_id), _request_timeout=30
            )
        except ApiException as error:
            if error.status == 409:  # ours from an earlier attempt, or still terminating: never reused
                raise SetupError(
                    f"namespace {self.namespace} already exists (a run with this id is still being removed)",
                    "wait for it to go (`kubectl get ns`), then run again",
                ) from error
            run_state.forget(NAMESPACE_KIND, self.namespace)
            raise SetupError(
                f"creating namespace {self.namespace} failed: {error.reason}",
                "check that the kubeconfig's user may create namespaces",
            ) from error
        self._wait_default_service_account()

    def _wait_default_service_account(self) -> None:
        # Pods are refused until the namespace's default ServiceAccount exists.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.connection.core.read_namespaced_service_account("default", self.namespace, _request_timeout=10)
                return
            except ApiException as error:
                if not _not_found(error):
                    raise
            time.sleep(0.2)
        raise SetupError(
            f"namespace {self.namespace} got no default ServiceAccount within 60s",
            "check that the cluster's controller manager runs",
        )

    @property
    def host_gateway(self) -> str:
        return POSTGRES_SERVICE  # services reach the environment's own Postgres pod

    def listen_port(self, service: str, port: int) -> int:
        return port

    def postgres(self, configured_dsn: str) -> PostgresAccess:
        """A Postgres pod of the environment's own (pods cannot reach the runner's host), holding
        every node's database; the framework reaches it through a port-forward like any service.
        ``configured_dsn`` (the host's server) is not used."""
        from xmtpd_e2e.runtime.kubernetes.images import POSTGRES_IMAGE

        service = self.start(
            ServiceSpec(
                name=POSTGRES_SERVICE,
                role="postgres",
                image=POSTGRES_IMAGE,
                command=(
                    "postgres",
                    "-c",
                    "listen_addresses=*",
                    "-c",
                    "max_connections=400",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "jit=off",
                    "-c",
                    "unix_socket_directories=/tmp",
                ),
                ports=(POSTGRES_PORT,),
                ready_log="database system is ready to accept connections",
                ready_check=_accepts_sql,
                ready_timeout=60,
            )
        )
        host, port = service.host_address(POSTGRES_PORT)
        return PostgresAccess(
            admin_dsn=f"postgres://postgres@{host}:{port}/postgres?sslmode=disable",
            service_dsn=f"postgres://postgres:xmtp@{POSTGRES_SERVICE}:{POSTGRES_PORT}/postgres?sslmode=disable",
            disposable=True,
        )

    def file_path(self, host_file: Path) -> str:
        return file_path(host_file)  # baked into the image (the framework's loaded images have them)

    def internal_address(self, service: str, port: int) -> str:
        return f"{service}:{port}"

    def describe(self) -> dict[str, str]:
        return {
            **super().describe(),
            "namespace": self.namespace,
            "server": self.connection.server,
            "access": self._access or AUTO,
        }

    def work_dir(self, service: str) -> Path | None:
        """On the local cluster, the host directory behind a service's working directory."""
        if self.connection.local is None:
            return None
        return self.connection.local.root / "volumes" / self.namespace / service

    def work_volume(self, service: str) -> dict[str, Any]:
        """The volume behind a service's working directory.  On the local cluster a host
        directory every node sees (removed with the namespace); elsewhere an emptyDir, whose
        content does not survive a restart (node data lives in Postgres, which is unaffected)."""
        path = self.work_dir(service)
        if path is None:
            return {"emptyDir": {}}
        return {"hostPath": {"path": str(path), "type": "DirectoryOrCreate"}}

    def host_network_address(self) -> str | None:
        """Where the framework's connections come from, as a pod sees them, on the local cluster:
        the first node's bridge address (the host on the pod network; the host's route to the
        other nodes' pod ranges uses it as source) with pod-ip access, the pod's own loopback
        with port-forward access (the node's container runtime dials 127.0.0.1 inside the pod).
        A remote cluster's pods have no network namespace the framework can enter: None."""
        if self.connection.local is None:
            return None
        return "127.0.0.1" if self._access == PORT_FORWARD else self.connection.local.api_address

    def pause_unavailable(self) -> SetupError | None:
        """A pause signals the container's processes from its node's host: only on the local cluster."""
        if self.connection.local is not None:
            return None
        return SetupError(
            f"pausing a service needs the framework's local cluster; {self.connection.server} is another cluster",
            "use kill/stop or the proxy faults there, or run on the local cluster (scripts/setup --kubernetes)",
        )

    def network_faults_unavailable(self) -> SetupError | None:
        """Network faults enter a pod's network namespace from its node's host: only on the
        framework's own local cluster.  Elsewhere the proxy faults (toxiproxy, a pod) remain."""
        if self.connection.local is not None:
            return None
        return SetupError(
            "network faults (partition, cut, packet loss, bandwidth limit, duplication, reordering) act inside "
            "each pod's network namespace, which the framework enters only on its own local cluster; "
            f"{self.connection.server} is another cluster",
            "use the proxy faults there (node.add_latency, limit_proxy_bandwidth, add_connection_reset, add_timeout, "
            "disconnect), or run on the local cluster (scripts/setup --kubernetes)",
        )

    @property
    def access(self) -> str | None:
        """``pod-ip`` or ``port-forward``; None while ``auto`` has not decided yet."""
        return self._access

    def access_for(self, service: KubernetesService, port: int) -> str:
        """The access mode, deciding ``auto`` on the first service whose pod has an IP (its IP is
        tried on ``port``); until then a port-forward serves, which works either way."""
        with self._access_lock:
            if self._access is not None:
                return self._access
            ip = service.pod_ip()
            if ip is None:
                return PORT_FORWARD
            self._access = POD_IP if pod_ip_answers(ip, port) else PORT_FORWARD
            self.log.info(
                "kubernetes access: %s (%s:%d of pod %s %s from here)",
                self._access,
                ip,
                port,
                service.spec.name,
                "answers" if self._access == POD_IP else "does not answer",
            )
            return self._access

    def forward(self, service: str, port: int) -> tuple[str, int]:
        with self._forward_lock:
            forward = self._forwards.get((service, port))
            if forward is None:
                forward = PodPortForward(self.connection.configuration, self.namespace, service, port)
                self._forwards[(service, port)] = forward
            return forward.address

    def drop_forwards(self, service: str) -> None:
        with self._forward_lock:
            gone = [key for key in self._forwards if key[0] == service]
            forwards = [self._forwards.pop(key) for key in gone]
        for forward in forwards:
            forward.close()

    def _create(self, spec: ServiceSpec) -> KubernetesService:
        # One record for the pod and its Service (same name); both go with the namespace, after
        # which the record is forgotten.
        ident = pod_ident(self.namespace, spec.name)
        self.run_state.record(
            POD_KIND, ident, kubeconfig=self.connection.kubeconfig, context=self.context or "", service=spec.name
        )
        try:
            self.connection.core.create_namespaced_service(
                self.namespace, service_manifest(spec, self.run_id, self.env_id), _request_timeout=30
            )
        except ApiException as error:
            self.run_state.forget(POD_KIND, ident)
            raise ServiceError(f"creating Service {spec.name} failed: {error.reason}: {error.body}") from error
        return KubernetesService(self, spec)

    def _release(self) -> None:
        with self._forward_lock:
            forwards = list(self._forwards.values())
            self._forwards.clear()
        for forward in forwards:
            forward.close()
        try:
            self.connection.core.delete_namespace(
                self.namespace, propagation_policy="Background", grace_period_seconds=0, _request_timeout=30
            )
        except ApiException as error:
            if not _not_found(error):
                raise ServiceError(f"deleting namespace {self.namespace} failed: {error.reason}") from error
        if not wait_namespace_gone(self.connection, self.namespace):
            raise ServiceError(f"namespace {self.namespace} still exists 180s after deletion")
        if self.connection.local is not None:
            shutil.rmtree(self.connection.local.root / "volumes" / self.namespace, ignore_errors=True)
        forget_pods_of(self.run_state, self.namespace)
        self.run_state.forget(NAMESPACE_KIND, self.namespace)
        self.connection.api_client.close()

    def pod_nodes(self) -> dict[str, str]:
        """Which node each service's pod runs on (for reports and the two-node check)."""
        pods = self.connection.core.list_namespaced_pod(self.namespace, _request_timeout=15)
        return {pod.metadata.name: str(pod.spec.node_name or "") for pod in pods.items}
