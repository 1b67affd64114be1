"""How the framework's own connections (clients, observers, the toxiproxy API) reach pods.

* ``pod-ip``: straight to the pod's IP.  Needs a runner whose host routes to the pod network
  (the local cluster's host does; so does a runner inside the cluster or on a flat network).
  The connections enter the pod's network namespace through its interface, from the host's
  address on the pod network, like a client on the other runtimes: a fault installed in the pod
  (a cut of the client path, packet loss) acts on them.
* ``port-forward``: through the Kubernetes API (a loopback port per pod port on the runner,
  a port-forward stream per connection).  Works with any cluster the kubeconfig reaches; the
  connections arrive inside the pod over its loopback (the node's container runtime dials
  127.0.0.1 in the pod), at the cost of a round trip through the API server per connection.
* ``auto``: ``pod-ip`` when a pod's IP answers from here, else ``port-forward``; decided once
  per environment, on the first running pod the framework connects to.
"""

from __future__ import annotations

import socket

from xmtpd_e2e.config import KUBE_ACCESS

__all__ = ["AUTO", "POD_IP", "PORT_FORWARD", "KUBE_ACCESS", "pod_ip_answers"]

AUTO, POD_IP, PORT_FORWARD = KUBE_ACCESS
PROBE_TIMEOUT = 2.0
"""Seconds a TCP connect to a pod's IP may take before its network counts as unreachable."""


def pod_ip_answers(ip: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether a TCP connect to ``ip``:``port`` gets an answer: accepted, or refused by the pod
    (a refusal also proves the packets got there and back).  No route, a timeout or an ICMP
    error mean the runner cannot reach the pod network."""
    try:
        socket.create_connection((ip, port), timeout=timeout).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return True
