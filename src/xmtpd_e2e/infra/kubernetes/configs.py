"""Configuration files of the cluster's components, written as JSON (which YAML readers accept).

The settings that matter on these machines, each explained where it is set: containerd's
``restrict_oom_score_adj``, the kubelet's node IP/address and cgroup v1 settings, the CNI
``firewall`` plugin, and kube-proxy leaving host-wide conntrack sysctls alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from xmtpd_e2e.infra.kubernetes.layout import BRIDGE, CLUSTER_CIDR, DNS_SERVICE_IP, ClusterLayout, NodeLayout

__all__ = [
    "PAUSE_IMAGE",
    "COREDNS_IMAGE",
    "kubeconfig",
    "containerd_config",
    "cni_config",
    "kubelet_config",
    "kube_proxy_config",
    "write_configs",
]

PAUSE_IMAGE = "xmtpd-e2e-k8s/pause:local"
COREDNS_IMAGE = "xmtpd-e2e-k8s/coredns:local"


def kubeconfig(layout: ClusterLayout, user: str, identity: str, *, server: str | None = None) -> str:
    pki = layout.pki
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "xmtpd-e2e",
                "cluster": {"server": server or layout.api_url, "certificate-authority": str(pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate": str(pki / f"{identity}.crt"),
                    "client-key": str(pki / f"{identity}.key"),
                },
            }
        ],
        "contexts": [{"name": "xmtpd-e2e", "context": {"cluster": "xmtpd-e2e", "user": user}}],
        "current-context": "xmtpd-e2e",
    }
    return json.dumps(document, indent=2) + "\n"


def containerd_config(node: NodeLayout) -> str:
    """A second containerd (own root, state, socket) with the CRI plugin for this node."""
    return "\n".join(
        [
            "version = 2",
            f'root = "{node.dir / "containerd"}"',
            f'state = "{node.run_dir / "containerd-state"}"',
            "[grpc]",
            f'  address = "{node.containerd_socket}"',
            "[ttrpc]",
            f'  address = "{node.run_dir / "containerd.sock.ttrpc"}"',
            "[debug]",
            '  address = ""',
            "[metrics]",
            '  address = ""',
            "[plugins]",
            '  [plugins."io.containerd.grpc.v1.cri"]',
            f'    sandbox_image = "{PAUSE_IMAGE}"',
            # Root here lacks CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj below its own
            # value and fails every sandbox ("can't get final child's PID from pipe: EOF").
            "    restrict_oom_score_adj = true",
            "    enable_selinux = false",
            '    [plugins."io.containerd.grpc.v1.cri".containerd]',
            '      snapshotter = "overlayfs"',
            '      default_runtime_name = "runc"',
            '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
            '        runtime_type = "io.containerd.runc.v2"',
            '        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
            "          SystemdCgroup = false",
            f'          Root = "{node.run_dir / "runc"}"',
            '    [plugins."io.containerd.grpc.v1.cri".cni]',
            '      bin_dir = "/usr/lib/cni"',
            f'      conf_dir = "{node.dir / "cni"}"',
            '  [plugins."io.containerd.internal.v1.opt"]',
            f'    path = "{node.dir / "containerd-opt"}"',
            "",
        ]
    )


def cni_config(node: NodeLayout) -> str:
    """Bridge + host-local IPAM; ``firewall`` admits bridged pod traffic past a DROP policy."""
    document = {
        "cniVersion": "1.0.0",
        "name": f"xmtpd-e2e-{node.name}",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": node.pod_cidr, "gateway": node.ip}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(node.dir / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "firewall", "backend": "iptables"},
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def kubelet_config(node: NodeLayout) -> str:
    pki = node.cluster.pki
    document = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # The API server reaches the kubelet (logs, exec, port-forward) at the node IP.
        "address": node.ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248 + 10 * (node.index - 1),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / f"{node.name}-serving.crt"),
        "tlsPrivateKeyFile": str(pki / f"{node.name}-serving.key"),
        "containerRuntimeEndpoint": f"unix://{node.containerd_socket}",
        # cgroup v1 is in maintenance mode in 1.34 and refused unless allowed explicitly.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": node.cgroup_parent,
        "failSwapOn": False,
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": "cluster.local",
        "resolvConf": str(node.cluster.config_dir / "resolv.conf"),
        # Each kubelet removes log directories of pods it does not run: the default shared
        # /var/log/pods would lose the other node's logs.
        "podLogsDir": str(node.dir / "pod-logs"),
        # Imported images cannot be pulled again: never garbage-collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "maxPods": 110,
        "serializeImagePulls": False,
        "podPidsLimit": -1,
        "enableServer": True,
        "staticPodPath": "",
        "volumeStatsAggPeriod": "0s",
        "shutdownGracePeriod": "0s",
    }
    return json.dumps(document, indent=2) + "\n"


def kube_proxy_config(node: NodeLayout) -> str:
    document = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(node.cluster.config_dir / "kube-proxy.kubeconfig")},
        "mode": "iptables",
        "clusterCIDR": CLUSTER_CIDR,
        "hostnameOverride": node.name,
        "bindAddress": node.ip,
        "healthzBindAddress": "127.0.0.1:10256",  # each node its own loopback (network namespace)
        "metricsBindAddress": "127.0.0.1:10249",
        "nodePortAddresses": [f"{node.ip}/32"],
        # Zero leaves the host-wide conntrack sysctls as they are.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        # Localhost NodePorts would set net.ipv4.conf.all.route_localnet on the host.
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
    }
    return json.dumps(document, indent=2) + "\n"


def write_configs(layout: ClusterLayout) -> None:
    """Write every configuration file (cheap; rewritten on each bring-up)."""
    config = layout.config_dir
    config.mkdir(parents=True, exist_ok=True)
    files: dict[Path, str] = {
        layout.admin_kubeconfig: kubeconfig(layout, "xmtpd-e2e-admin", "admin"),
        config / "controller-manager.kubeconfig": kubeconfig(layout, "controller-manager", "controller-manager"),
        config / "scheduler.kubeconfig": kubeconfig(layout, "scheduler", "scheduler"),
        config / "kube-proxy.kubeconfig": kubeconfig(layout, "kube-proxy", "kube-proxy"),
        # Pods get no upstream resolver: nothing outside the cluster is ever looked up.
        config / "resolv.conf": "nameserver 127.0.0.1\n",
    }
    for node in layout.nodes:
        node.dir.mkdir(parents=True, exist_ok=True)
        (node.dir / "cni").mkdir(exist_ok=True)
        files[node.dir / "kubelet.kubeconfig"] = kubeconfig(layout, f"system:node:{node.name}", f"{node.name}-client")
        files[node.dir / "containerd.toml"] = containerd_config(node)
        files[node.dir / "cni" / "10-xmtpd-e2e.conflist"] = cni_config(node)
        files[node.dir / "kubelet.json"] = kubelet_config(node)
        files[node.dir / "kube-proxy.json"] = kube_proxy_config(node)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
