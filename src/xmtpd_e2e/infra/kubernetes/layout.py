"""Where the local cluster keeps its files and which addresses it uses.

Every address lives on interfaces the set-up creates: each node has a bridge ``xk8s0`` whose
gateway address is the node's IP (the kubelet's logs/exec endpoint and, on the first node, the
API server's); the second node lives in its own network namespace, joined to the host by a veth
pair, with a route to its pod range.  Nothing listens on the machine's external interface.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from xmtpd_e2e.infra.kubernetes.versions import kubernetes_home

__all__ = ["ClusterLayout", "NodeLayout", "BRIDGE", "CLUSTER_CIDR", "SERVICE_CIDR", "API_SERVICE_IP", "DNS_SERVICE_IP"]

BRIDGE = "xk8s0"
CLUSTER_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
_LINK_CIDR = ipaddress.IPv4Network("10.245.0.0/16")


@dataclass(frozen=True)
class NodeLayout:
    """One kubelet with its own containerd, CNI configuration and (after the first) netns."""

    index: int  # 1-based
    cluster: ClusterLayout

    @property
    def name(self) -> str:
        return f"xmtpd-e2e-node{self.index}"

    @property
    def pod_cidr(self) -> str:
        return f"10.244.{self.index - 1}.0/24"

    @property
    def ip(self) -> str:
        """The bridge's gateway address: the node IP, reachable from pods and the host."""
        return f"10.244.{self.index - 1}.1"

    @property
    def netns(self) -> str | None:
        """The network namespace the node runs in; the first node uses the host's."""
        return None if self.index == 1 else f"xmtpd-e2e-k8s-node{self.index}"

    @property
    def host_veth(self) -> str:
        return f"xk8s-n{self.index}h"

    @property
    def node_veth(self) -> str:
        return f"xk8s-n{self.index}"

    @property
    def link_addresses(self) -> tuple[str, str]:
        """(host side, namespace side) of the veth pair, each a /30 of 10.245.0.0/16."""
        base = _LINK_CIDR.network_address + 4 * self.index
        return f"{base + 1}/30", f"{base + 2}/30"

    @property
    def dir(self) -> Path:
        return self.cluster.root / "nodes" / self.name

    @property
    def run_dir(self) -> Path:
        """Short path for sockets (a unix socket path must stay under 108 bytes)."""
        return self.cluster.run_root / self.name

    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    @property
    def cgroup_parent(self) -> str:
        """The cgroup under which this kubelet puts ``kubepods`` (each node its own)."""
        return f"/xmtpd-e2e-k8s/{self.name}"


@dataclass(frozen=True)
class ClusterLayout:
    root: Path
    run_root: Path = Path("/run/xmtpd-e2e-k8s")
    node_count: int = 2
    etcd_client_port: int = 12379
    etcd_peer_port: int = 12380
    api_port: int = 6443

    @classmethod
    def default(cls, home: Path | None = None, node_count: int | None = None) -> ClusterLayout:
        """The layout under the framework's home; ``node_count`` defaults to what was brought up."""
        root = kubernetes_home(home) / "cluster"
        if node_count is None:
            try:
                node_count = int(json.loads((root / "layout.json").read_text())["node_count"])
            except (OSError, ValueError, KeyError):
                node_count = 2
        return cls(root=root, node_count=node_count)

    def remember(self) -> None:
        """Store the node count so later commands (status, down) see the same cluster."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "layout.json").write_text(json.dumps({"node_count": self.node_count}))

    @property
    def nodes(self) -> list[NodeLayout]:
        return [NodeLayout(index, self) for index in range(1, self.node_count + 1)]

    @property
    def api_address(self) -> str:
        return self.nodes[0].ip

    @property
    def api_url(self) -> str:
        return f"https://{self.api_address}:{self.api_port}"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def pid_dir(self) -> Path:
        return self.root / "pids"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.config_dir / "admin.kubeconfig"

    @property
    def host_record(self) -> Path:
        """What the host looked like before the cluster changed it (restored by teardown)."""
        return self.root / "host-before.json"
