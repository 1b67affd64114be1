"""Cluster DNS: CoreDNS as a Deployment from the local image, behind the ``kube-dns`` Service.

It answers only for ``cluster.local`` (no upstream resolver: pods never look up outside names),
which is what Services-as-DNS-names need.

Nothing is cached, in CoreDNS or (TTL 0) by whoever asks.  An environment's services are created
and started again within seconds, and a name looked up a moment too early must not stay
unknown: with CoreDNS's ``cache``, a node whose pod had no IP yet was answered NXDOMAIN for
another 5 s, so toxiproxy could not dial it although the framework had seen it ready (a gateway's
first publish then failed with "connection reset by peer" from the node's proxy); and a restarted
pod's old IP was served for as long.  The kubernetes plugin answers from its own watch of the
API, so a lookup costs no more without the cache.
"""

from __future__ import annotations

from typing import Any

from xmtpd_e2e.infra.kubernetes.configs import COREDNS_IMAGE
from xmtpd_e2e.infra.kubernetes.layout import DNS_SERVICE_IP

__all__ = ["COREFILE", "coredns_manifest", "refresh_corefile"]

COREFILE = """.:53 {
    errors
    health {
        lameduck 2s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 0
    }
    loop
    reload
}
"""


def coredns_manifest() -> list[dict[str, Any]]:
    labels = {"k8s-app": "kube-dns"}
    meta = {"name": "coredns", "namespace": "kube-system"}
    items: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"Corefile": COREFILE}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {**meta, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "coredns",
                        "dnsPolicy": "Default",
                        # The first node runs in the host's namespaces, where the API server is.
                        "nodeSelector": {"kubernetes.io/hostname": "xmtpd-e2e-node1"},
                        "containers": [
                            {
                                "name": "coredns",
                                "image": COREDNS_IMAGE,
                                "imagePullPolicy": "Never",
                                "args": ["-conf", "/etc/coredns/Corefile"],
                                "ports": [
                                    {"containerPort": 53, "protocol": "UDP", "name": "dns"},
                                    {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"},
                                ],
                                "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
                                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
                                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                            }
                        ],
                        "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
            "spec": {
                "selector": labels,
                "clusterIP": DNS_SERVICE_IP,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                ],
            },
        },
    ]
    return items


def refresh_corefile(api: Any) -> bool:
    """Bring an existing cluster's Corefile to this version's (bring-up creates objects only
    when missing); CoreDNS's ``reload`` picks the change up.  True when it was changed."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    current = core.read_namespaced_config_map("coredns", "kube-system", _request_timeout=10)
    if (current.data or {}).get("Corefile") == COREFILE:
        return False
    core.patch_namespaced_config_map("coredns", "kube-system", {"data": {"Corefile": COREFILE}}, _request_timeout=10)
    return True
