"""Cluster layout and the component configurations: the settings these machines need."""

from __future__ import annotations

import json
from pathlib import Path

from xmtpd_e2e.infra.kubernetes.configs import (
    cni_config,
    containerd_config,
    kube_proxy_config,
    kubelet_config,
    kubeconfig,
)
from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout


def layout(tmp_path: Path) -> ClusterLayout:
    return ClusterLayout(root=tmp_path, run_root=tmp_path / "run", node_count=2)


def test_nodes_get_distinct_ranges_namespaces_and_cgroups(tmp_path: Path) -> None:
    first, second = layout(tmp_path).nodes
    assert (first.ip, first.pod_cidr, first.netns) == ("10.244.0.1", "10.244.0.0/24", None)
    assert (second.ip, second.pod_cidr) == ("10.244.1.1", "10.244.1.0/24")
    assert second.netns is not None
    assert first.cgroup_parent != second.cgroup_parent
    assert first.containerd_socket != second.containerd_socket
    host, node = second.link_addresses
    assert host.endswith("/30") and node.endswith("/30") and host != node


def test_kubelet_uses_the_node_ip_and_keeps_imported_images(tmp_path: Path) -> None:
    node = layout(tmp_path).nodes[1]
    config = json.loads(kubelet_config(node))
    assert config["address"] == node.ip
    assert config["failCgroupV1"] is False and config["cgroupDriver"] == "cgroupfs"
    assert config["imageGCHighThresholdPercent"] == 100
    assert config["cgroupRoot"] == node.cgroup_parent
    assert config["containerRuntimeEndpoint"] == f"unix://{node.containerd_socket}"


def test_containerd_restricts_oom_score_adj_and_has_its_own_paths(tmp_path: Path) -> None:
    node = layout(tmp_path).nodes[0]
    text = containerd_config(node)
    assert "restrict_oom_score_adj = true" in text
    assert f'address = "{node.containerd_socket}"' in text
    assert "SystemdCgroup = false" in text


def test_cni_passes_the_firewall_and_uses_the_node_range(tmp_path: Path) -> None:
    node = layout(tmp_path).nodes[1]
    plugins = json.loads(cni_config(node))["plugins"]
    assert [p["type"] for p in plugins] == ["bridge", "portmap", "firewall"]
    assert plugins[0]["ipam"]["ranges"] == [[{"subnet": node.pod_cidr, "gateway": node.ip}]]


def test_kube_proxy_leaves_host_sysctls_alone(tmp_path: Path) -> None:
    config = json.loads(kube_proxy_config(layout(tmp_path).nodes[0]))
    assert config["conntrack"]["maxPerCore"] == 0
    assert config["conntrack"]["tcpEstablishedTimeout"] == "0s"
    assert config["iptables"]["localhostNodePorts"] is False


def test_kubeconfig_points_at_the_bridge_address(tmp_path: Path) -> None:
    cluster = layout(tmp_path)
    config = json.loads(kubeconfig(cluster, "admin", "admin"))
    assert config["clusters"][0]["cluster"]["server"] == "https://10.244.0.1:6443"
    assert config["users"][0]["user"]["client-certificate"] == str(cluster.pki / "admin.crt")
