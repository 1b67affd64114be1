"""Bring the local cluster up, report on it, and take it down leaving the host as it was.

Order matters in both directions.  Up: host record, certificates and configs, links, etcd, the
control plane, then per node containerd (with the pause and CoreDNS images imported), kubelet
and kube-proxy, then CoreDNS.  Down: controllers are deleted (foreground) before pods and
before the kubelets stop, or a ReplicaSet recreates a pod whose processes outlive its kubelet;
then the daemons stop, and the host record is replayed backwards.
"""

from __future__ import annotations

import functools
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.kubernetes import cluster_images, host_state, network
from xmtpd_e2e.infra.kubernetes.api import (
    admin_client,
    create_objects,
    delete_workloads,
    deployment_available,
    node_states,
    ready_nodes,
)
from xmtpd_e2e.infra.kubernetes.certificates import ensure_certificates
from xmtpd_e2e.infra.kubernetes.configs import write_configs
from xmtpd_e2e.infra.kubernetes.coredns import coredns_manifest, refresh_corefile
from xmtpd_e2e.infra.kubernetes.layout import CLUSTER_CIDR, SERVICE_CIDR, ClusterLayout, NodeLayout
from xmtpd_e2e.infra.kubernetes.processes import (
    Daemon,
    daemon_running,
    log_tail,
    start_daemon,
    stop_daemon,
    unix_socket_accepts,
)
from xmtpd_e2e.infra.kubernetes.versions import KUBERNETES_COMPONENTS, kubernetes_bin_dir

__all__ = ["ClusterStatus", "cluster_up", "cluster_down", "cluster_status", "require_host_tools"]

Say = Callable[[str], None]
_HOST_TOOLS = {
    "etcd": "etcd-server",
    "containerd": "containerd",
    "runc": "runc",
    "ctr": "containerd",
    "iptables": "iptables",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "openssl": "openssl",
    "gcc": "gcc",
    "nft": "nftables",
}


def _bin(name: str) -> str:
    return str(kubernetes_bin_dir() / name)


def require_host_tools() -> None:
    if os.geteuid() != 0:
        raise SetupError(
            "the local Kubernetes cluster needs root (it creates links, mounts and cgroups)",
            "run it as root, or point --kube-context at an existing cluster",
        )
    missing = sorted({package for tool, package in _HOST_TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise SetupError(
            f"missing system packages for the local cluster: {' '.join(missing)}",
            f"run `scripts/setup --kubernetes` (or apt-get install {' '.join(missing)})",
        )
    absent = [name for name in KUBERNETES_COMPONENTS if name != "kubectl" and not Path(_bin(name)).is_file()]
    if absent:
        raise SetupError(
            f"Kubernetes components are not built: {', '.join(absent)}",
            "run `scripts/setup --kubernetes` (builds them once, ~10 min)",
        )
    if not Path("/usr/lib/cni/bridge").is_file():
        raise SetupError(
            "the CNI plugins are not installed (/usr/lib/cni/bridge is missing)",
            "run `scripts/setup --kubernetes` (or apt-get install containernetworking-plugins)",
        )


def _wait(what: str, probe: Callable[[], bool], timeout: float, layout: ClusterLayout, log: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception:  # not answering yet
            pass
        if log and not daemon_running(layout.pid_dir, log):
            raise SetupError(
                f"{log} exited while waiting for {what}: {log_tail(layout.log_dir, log)}",
                f"see {layout.log_dir / (log + '.log')}",
            )
        time.sleep(0.25)
    raise SetupError(
        f"timed out after {timeout:.0f}s waiting for {what}",
        f"see {layout.log_dir / (log + '.log')}: {log_tail(layout.log_dir, log, 3)}",
    )


def _https_ok(layout: ClusterLayout, path: str) -> bool:
    context = ssl.create_default_context(cafile=str(layout.pki / "ca.crt"))
    context.load_cert_chain(str(layout.pki / "admin.crt"), str(layout.pki / "admin.key"))
    with urllib.request.urlopen(f"{layout.api_url}{path}", context=context, timeout=3) as response:
        return bool(response.status == 200)


def _control_plane(layout: ClusterLayout) -> list[Daemon]:
    pki, config = layout.pki, layout.config_dir
    etcd_url = f"http://127.0.0.1:{layout.etcd_client_port}"
    peer_url = f"http://127.0.0.1:{layout.etcd_peer_port}"
    return [
        Daemon(
            "etcd",
            [
                "etcd",
                "--name",
                "xmtpd-e2e",
                "--data-dir",
                str(layout.root / "etcd"),
                "--listen-client-urls",
                etcd_url,
                "--advertise-client-urls",
                etcd_url,
                "--listen-peer-urls",
                peer_url,
                "--initial-advertise-peer-urls",
                peer_url,
                "--initial-cluster",
                f"xmtpd-e2e={peer_url}",
                "--listen-metrics-urls",
                "",
                "--quota-backend-bytes",
                str(2 * 1024**3),
            ],
        ),
        Daemon(
            "kube-apiserver",
            [
                _bin("kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                # Bound to the bridge address (pods reach it, the external interface does not).
                f"--bind-address={layout.api_address}",
                f"--advertise-address={layout.api_address}",
                f"--secure-port={layout.api_port}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                f"--service-account-key-file={pki / 'service-account.pub'}",
                f"--service-account-signing-key-file={pki / 'service-account.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                # Node names resolve nowhere: reach kubelets (logs, exec, port-forward) by node IP.
                "--kubelet-preferred-address-types=InternalIP",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                "--profiling=false",
                "--enable-admission-plugins=NodeRestriction",
                "--event-ttl=30m",
            ],
        ),
        Daemon(
            "kube-controller-manager",
            [
                _bin("kube-controller-manager"),
                f"--kubeconfig={config / 'controller-manager.kubeconfig'}",
                f"--authentication-kubeconfig={config / 'controller-manager.kubeconfig'}",
                f"--authorization-kubeconfig={config / 'controller-manager.kubeconfig'}",
                # Node IP ranges are fixed per node in the CNI configuration, not allocated.
                "--controllers=*,-nodeipam",
                "--use-service-account-credentials",
                f"--service-account-private-key-file={pki / 'service-account.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-cidr={CLUSTER_CIDR}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--profiling=false",
            ],
        ),
        Daemon(
            "kube-scheduler",
            [
                _bin("kube-scheduler"),
                f"--kubeconfig={config / 'scheduler.kubeconfig'}",
                f"--authentication-kubeconfig={config / 'scheduler.kubeconfig'}",
                f"--authorization-kubeconfig={config / 'scheduler.kubeconfig'}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--profiling=false",
            ],
        ),
    ]


def _node_daemons(node: NodeLayout) -> tuple[Daemon, Daemon, Daemon]:
    containerd = Daemon(
        f"containerd-{node.name}", ["containerd", "--config", str(node.dir / "containerd.toml")], node.netns
    )
    kubelet = Daemon(
        f"kubelet-{node.name}",
        [
            _bin("kubelet"),
            f"--config={node.dir / 'kubelet.json'}",
            f"--kubeconfig={node.dir / 'kubelet.kubeconfig'}",
            f"--root-dir={node.dir / 'kubelet'}",
            f"--cert-dir={node.dir / 'kubelet-pki'}",
            # With 127.0.0.1 or the external address, the API server cannot reach logs/exec.
            f"--node-ip={node.ip}",
            f"--hostname-override={node.name}",
        ],
        node.netns,
    )
    proxy = Daemon(
        f"kube-proxy-{node.name}", [_bin("kube-proxy"), f"--config={node.dir / 'kube-proxy.json'}"], node.netns
    )
    return containerd, kubelet, proxy


def _cgroup_roots(node: NodeLayout) -> None:
    for controller in Path("/sys/fs/cgroup").iterdir():
        if controller.is_dir() and not controller.is_symlink() and (controller / "cgroup.procs").exists():
            (controller / node.cgroup_parent.lstrip("/")).mkdir(parents=True, exist_ok=True)


def _nodes_ready(layout: ClusterLayout, kubelets_started: Mapping[str, datetime]) -> bool:
    api = admin_client(layout)
    try:
        return {node.name for node in layout.nodes} <= ready_nodes(api, kubelets_started)
    finally:
        api.close()


def cluster_up(layout: ClusterLayout, say: Say = lambda _m: None) -> None:
    """Start the cluster (idempotent: what already runs is left running)."""
    require_host_tools()
    host_state.record_host(layout)
    layout.remember()
    for path in (layout.run_root, layout.log_dir, layout.pid_dir):
        path.mkdir(parents=True, exist_ok=True)
    ensure_certificates(layout)
    write_configs(layout)
    network.create_network(layout)
    for node in layout.nodes:
        node.run_dir.mkdir(parents=True, exist_ok=True)
        _cgroup_roots(node)
    etcd, apiserver, controller_manager, scheduler = _control_plane(layout)
    say("starting etcd and the control plane")
    start_daemon(etcd, layout.pid_dir, layout.log_dir)
    _wait(
        "etcd",
        lambda: urllib.request.urlopen(f"http://127.0.0.1:{layout.etcd_client_port}/health", timeout=2).status == 200,
        60,
        layout,
        "etcd",
    )
    start_daemon(apiserver, layout.pid_dir, layout.log_dir)
    _wait("the API server", lambda: _https_ok(layout, "/readyz"), 120, layout, "kube-apiserver")
    start_daemon(controller_manager, layout.pid_dir, layout.log_dir)
    start_daemon(scheduler, layout.pid_dir, layout.log_dir)
    archives = cluster_images.cluster_image_archives(layout)
    kubelets_started: dict[str, datetime] = {}  # only their own heartbeats make these nodes Ready
    for node in layout.nodes:
        containerd, kubelet, proxy = _node_daemons(node)
        say(f"starting {node.name}" + (f" (network namespace {node.netns})" if node.netns else ""))
        start_daemon(containerd, layout.pid_dir, layout.log_dir)
        _wait(
            f"{node.name}'s containerd",
            functools.partial(unix_socket_accepts, node.containerd_socket),
            60,
            layout,
            containerd.name,
        )
        present = set(cluster_images.node_images(node))
        for archive, reference in archives:
            if reference not in present:
                cluster_images.import_archive(node, archive)
        if not daemon_running(layout.pid_dir, kubelet.name):
            kubelets_started[node.name] = datetime.now(timezone.utc).replace(microsecond=0)
        start_daemon(kubelet, layout.pid_dir, layout.log_dir)
        start_daemon(proxy, layout.pid_dir, layout.log_dir)
    say("waiting for the nodes to be Ready")
    _wait(
        "every node to be Ready",
        lambda: _nodes_ready(layout, kubelets_started),
        120,
        layout,
        f"kubelet-{layout.nodes[-1].name}",
    )
    say("starting CoreDNS")
    api = admin_client(layout)
    try:
        create_objects(api, coredns_manifest())
        if refresh_corefile(api):
            say("CoreDNS configuration updated (it reloads it within a minute)")
        _wait(
            "CoreDNS to be available",
            lambda: deployment_available(api, "kube-system", "coredns"),
            180,
            layout,
            f"kubelet-{layout.nodes[0].name}",
        )
    finally:
        api.close()


def _drain(layout: ClusterLayout, say: Say) -> None:
    if not daemon_running(layout.pid_dir, "kube-apiserver") or not layout.admin_kubeconfig.is_file():
        return
    say("deleting controllers, then pods")
    api = admin_client(layout)
    try:
        delete_workloads(api)
    except Exception as error:  # teardown goes on: the processes are killed by cgroup below
        say(f"deleting workloads through the API failed ({error}); killing their processes")
    finally:
        api.close()


def cluster_down(layout: ClusterLayout, say: Say = lambda _m: None) -> list[str]:
    """Stop everything and restore the host; returns problems (empty = host as before)."""
    _drain(layout, say)
    say("stopping the daemons")
    for node in reversed(layout.nodes):
        containerd, kubelet, proxy = _node_daemons(node)
        stop_daemon(layout.pid_dir, proxy.name)
        stop_daemon(layout.pid_dir, kubelet.name)
    host_state.kill_cluster_processes(layout)
    for node in reversed(layout.nodes):
        stop_daemon(layout.pid_dir, _node_daemons(node)[0].name)
    for daemon in reversed(_control_plane(layout)):
        stop_daemon(layout.pid_dir, daemon.name)
    if Path(_bin("kube-proxy")).is_file():
        subprocess.run([_bin("kube-proxy"), "--cleanup"], capture_output=True, check=False, timeout=60)
    say("restoring the host")
    network.remove_network(layout)
    problems = host_state.restore_host(layout)
    if not problems:
        shutil.rmtree(layout.root, ignore_errors=True)
        shutil.rmtree(layout.run_root, ignore_errors=True)
    return problems


@dataclass
class ClusterStatus:
    daemons: dict[str, bool] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)
    kubeconfig: str = ""

    @property
    def up(self) -> bool:
        return bool(self.daemons) and all(self.daemons.values()) and all(v == "Ready" for v in self.nodes.values())

    def to_dict(self) -> dict[str, object]:
        return {"up": self.up, "daemons": self.daemons, "nodes": self.nodes, "kubeconfig": self.kubeconfig}


def cluster_status(layout: ClusterLayout) -> ClusterStatus:
    status = ClusterStatus(kubeconfig=str(layout.admin_kubeconfig))
    names = [d.name for d in _control_plane(layout)] + [d.name for n in layout.nodes for d in _node_daemons(n)]
    status.daemons = {name: daemon_running(layout.pid_dir, name) for name in names}
    if status.daemons.get("kube-apiserver") and layout.admin_kubeconfig.is_file():
        api = admin_client(layout)
        try:
            status.nodes = node_states(api)
        except Exception:
            status.nodes = {}
        finally:
            api.close()
    return status
