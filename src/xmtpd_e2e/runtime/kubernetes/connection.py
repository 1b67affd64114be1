"""Connecting to a cluster: which kubeconfig and context, and whether it is our local cluster.

The kubeconfig is the one kubectl would use (``KUBECONFIG``, else ``~/.kube/config``), with
``--kube-context`` choosing a context; when neither exists, the local cluster's admin
kubeconfig (``xmtpd-e2e infra kubernetes up``) is used.  Pointing at the local cluster enables
what needs the nodes' host side: loading images into their containerd, a true SIGKILL, pause.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout

__all__ = ["ClusterConnection", "connect", "kubeconfig_path"]

_FIX = (
    "start the local cluster (`xmtpd-e2e infra kubernetes up`, or scripts/setup --kubernetes), "
    "or set KUBECONFIG / pass --kube-context for another cluster"
)


@dataclass
class ClusterConnection:
    api_client: Any  # the generated client types every field Optional; pods are read defensively instead
    core: Any
    server: str
    context: str | None
    kubeconfig: str
    local: ClusterLayout | None
    configuration: Any = None
    """For clients of their own: a port-forward stream swaps its client's request method while it
    connects, so sharing one client with other threads sends their calls down the websocket."""
    """The local cluster's layout when the kubeconfig points at it (host-side access), else None."""


def kubeconfig_path() -> str | None:
    configured = os.environ.get("KUBECONFIG")
    if configured:
        return configured
    default = Path.home() / ".kube" / "config"
    if default.is_file():
        return str(default)
    local = ClusterLayout.default().admin_kubeconfig
    return str(local) if local.is_file() else None


def connect(context: str | None = None, *, timeout: float = 5.0) -> ClusterConnection:
    """A client for the cluster, checked to answer; raises SetupError naming the fix."""
    path = kubeconfig_path()
    if path is None:
        raise SetupError("no kubeconfig found (KUBECONFIG unset, no ~/.kube/config, no local cluster)", _FIX)
    configuration = k8s.Configuration()
    try:
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=context, client_configuration=configuration, persist_config=False
        )
    except (ConfigException, OSError, ValueError) as error:
        raise SetupError(
            f"cannot use kubeconfig {path}" + (f" context {context!r}" if context else "") + f": {error}", _FIX
        ) from error
    api_client: Any = k8s.ApiClient(configuration)
    try:
        k8s.VersionApi(api_client).get_code(_request_timeout=timeout)
    except Exception as error:
        api_client.close()
        raise SetupError(
            f"the Kubernetes API at {configuration.host} does not answer ({str(error).splitlines()[0][:200]})", _FIX
        ) from error
    layout = ClusterLayout.default()
    local = layout if configuration.host.rstrip("/") == layout.api_url and layout.admin_kubeconfig.is_file() else None
    return ClusterConnection(
        api_client, k8s.CoreV1Api(api_client), configuration.host, context, path, local, configuration
    )
