"""The cluster's links: a bridge per node (its gateway address is the node IP), a network
namespace and veth pair for each node after the first, and forwarding between pod ranges.
The host routes to every pod (the framework reaches pods by IP), from the first node's address.

Docker sets the host's FORWARD policy to DROP; one chain of ours (``XE2E-K8S``) admits traffic
between the cluster's pod ranges and to/from the other nodes' links, and nothing else.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.kubernetes.layout import BRIDGE, CLUSTER_CIDR, ClusterLayout, NodeLayout

__all__ = ["FORWARD_CHAIN", "create_network", "remove_network", "run"]

FORWARD_CHAIN = "XE2E-K8S"


def run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and completed.returncode != 0:
        raise SetupError(
            f"`{' '.join(argv)}` failed: {completed.stderr.strip()[-300:]}",
            "run as root on Linux with iproute2 and iptables installed",
        )
    return completed


def _link_exists(name: str, netns: str | None = None) -> bool:
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    return run([*prefix, "link", "show", name], check=False).returncode == 0


def _bridge(node: NodeLayout) -> None:
    ip = ["ip", "-n", node.netns] if node.netns else ["ip"]
    if not _link_exists(BRIDGE, node.netns):
        run([*ip, "link", "add", BRIDGE, "type", "bridge"])
    addresses = run([*ip, "-br", "addr", "show", BRIDGE]).stdout
    if f"{node.ip}/" not in addresses:
        run([*ip, "addr", "add", f"{node.ip}/24", "dev", BRIDGE])
    run([*ip, "link", "set", BRIDGE, "up"])


def _namespace(node: NodeLayout) -> None:
    assert node.netns is not None
    if not Path(f"/run/netns/{node.netns}").exists():
        run(["ip", "netns", "add", node.netns])
    host_address, node_address = node.link_addresses
    if not _link_exists(node.host_veth):
        run(["ip", "link", "add", node.host_veth, "type", "veth", "peer", "name", node.node_veth, "netns", node.netns])
        run(["ip", "addr", "add", host_address, "dev", node.host_veth])
        run(["ip", "-n", node.netns, "addr", "add", node_address, "dev", node.node_veth])
    run(["ip", "link", "set", node.host_veth, "up"])
    run(["ip", "-n", node.netns, "link", "set", "lo", "up"])
    run(["ip", "-n", node.netns, "link", "set", node.node_veth, "up"])
    run(["ip", "-n", node.netns, "route", "replace", "default", "via", host_address.split("/")[0]])
    # The host reaches every node's pods from one address, the first node's bridge address (as
    # it does that node's pods): a fault inside a pod names the framework's connections by it.
    via = node_address.split("/")[0]
    source = node.cluster.api_address
    run(["ip", "route", "replace", node.pod_cidr, "via", via, "dev", node.host_veth, "src", source])
    # Both settings belong to the namespace and vanish with it.
    for key in ("net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"):
        run(["ip", "netns", "exec", node.netns, "sysctl", "-qw", key], check=False)


def _forwarding(layout: ClusterLayout) -> None:
    if run(["iptables", "-t", "filter", "-S", FORWARD_CHAIN], check=False).returncode != 0:
        run(["iptables", "-t", "filter", "-N", FORWARD_CHAIN])
    run(["iptables", "-t", "filter", "-F", FORWARD_CHAIN])
    run(["iptables", "-t", "filter", "-A", FORWARD_CHAIN, "-s", CLUSTER_CIDR, "-d", CLUSTER_CIDR, "-j", "ACCEPT"])
    for node in layout.nodes[1:]:
        for flag in ("-i", "-o"):
            run(["iptables", "-t", "filter", "-A", FORWARD_CHAIN, flag, node.host_veth, "-j", "ACCEPT"])
    if run(["iptables", "-t", "filter", "-C", "FORWARD", "-j", FORWARD_CHAIN], check=False).returncode != 0:
        run(["iptables", "-t", "filter", "-I", "FORWARD", "1", "-j", FORWARD_CHAIN])


def create_network(layout: ClusterLayout) -> None:
    for node in layout.nodes:
        if node.netns:
            _namespace(node)
        _bridge(node)
    _forwarding(layout)


def remove_network(layout: ClusterLayout) -> None:
    """Delete the chain, links, routes and namespaces (each only if present)."""
    while run(["iptables", "-t", "filter", "-D", "FORWARD", "-j", FORWARD_CHAIN], check=False).returncode == 0:
        pass
    run(["iptables", "-t", "filter", "-F", FORWARD_CHAIN], check=False)
    run(["iptables", "-t", "filter", "-X", FORWARD_CHAIN], check=False)
    for node in layout.nodes:
        if node.netns:
            run(["ip", "route", "del", node.pod_cidr], check=False)
            if _link_exists(node.host_veth):
                run(["ip", "link", "del", node.host_veth], check=False)
            if Path(f"/run/netns/{node.netns}").exists():
                run(["ip", "netns", "del", node.netns], check=False)
        elif _link_exists(BRIDGE):
            run(["ip", "link", "del", BRIDGE], check=False)
