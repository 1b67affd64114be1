"""The cluster's API, as its admin uses it during bring-up and teardown (official Python client).

Bring-up and teardown need only a handful of calls (nodes Ready, create the CoreDNS objects,
wait for its Deployment, delete workloads), so they do not depend on kubectl.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout

__all__ = [
    "admin_client",
    "ready_nodes",
    "node_states",
    "reported_ready",
    "create_objects",
    "deployment_available",
    "delete_workloads",
]

_WORKLOADS = (  # (API class, list-for-all-namespaces, delete-namespaced), controllers first
    ("AppsV1Api", "list_deployment_for_all_namespaces", "delete_namespaced_deployment"),
    ("AppsV1Api", "list_stateful_set_for_all_namespaces", "delete_namespaced_stateful_set"),
    ("AppsV1Api", "list_daemon_set_for_all_namespaces", "delete_namespaced_daemon_set"),
    ("BatchV1Api", "list_job_for_all_namespaces", "delete_namespaced_job"),
    ("AppsV1Api", "list_replica_set_for_all_namespaces", "delete_namespaced_replica_set"),
)


def _api(name: str, api: Any) -> Any:
    """An API group of the client (its generated models type every field Optional)."""
    return getattr(k8s, name)(api)


def admin_client(layout: ClusterLayout) -> Any:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(layout.admin_kubeconfig), client_configuration=configuration, persist_config=False
    )
    return k8s.ApiClient(configuration)


def reported_ready(node: Any, since: datetime | None = None) -> bool:
    """Whether ``node``'s Ready condition is True, and, given ``since``, reported at or after it.

    A node's status is what its kubelet last wrote: a kubelet killed a moment ago still shows
    Ready (the node controller marks it unknown only after a grace period of tens of seconds).
    So after (re)starting a kubelet, only a heartbeat from the new one counts.  Heartbeats carry
    whole seconds; ``since`` should too.
    """
    for condition in node.status.conditions or []:
        if condition.type == "Ready" and condition.status == "True":
            heartbeat = condition.last_heartbeat_time
            return since is None or (heartbeat is not None and heartbeat >= since)
    return False


def node_states(api: Any, since: Mapping[str, datetime] | None = None) -> dict[str, str]:
    """Each node's name and "Ready" or "NotReady"; a node named in ``since`` is Ready only by a
    heartbeat from then on (see :func:`reported_ready`)."""
    since = since or {}
    states = {}
    for node in _api("CoreV1Api", api).list_node(_request_timeout=10).items:
        name = str(node.metadata.name)
        states[name] = "Ready" if reported_ready(node, since.get(name)) else "NotReady"
    return states


def ready_nodes(api: Any, since: Mapping[str, datetime] | None = None) -> set[str]:
    return {name for name, state in node_states(api, since).items() if state == "Ready"}


def create_objects(api: Any, items: list[dict[str, Any]]) -> None:
    """Create each object, leaving one that already exists as it is (bring-up is idempotent).

    "Already exists" is not always the answer for an existing object: a Service that asks for a
    fixed cluster IP is refused with 422 "provided IP is already allocated" when it exists
    itself, because the IP is allocated before the name is checked.  So any refusal is checked
    against what the cluster holds.
    """
    from kubernetes import utils

    for item in items:
        try:
            utils.create_from_dict(api, item)  # type: ignore[no-untyped-call]
        except utils.FailToCreateError as error:
            if all(getattr(e, "status", None) == 409 for e in error.api_exceptions) or _exists(api, item):
                continue
            raise


def _exists(api: Any, item: dict[str, Any]) -> bool:
    from kubernetes.dynamic import DynamicClient

    client = DynamicClient(api)  # type: ignore[no-untyped-call]
    resource = client.resources.get(api_version=item["apiVersion"], kind=item["kind"])
    metadata = item["metadata"]
    try:
        resource.get(name=metadata["name"], namespace=metadata.get("namespace"))
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def deployment_available(api: Any, namespace: str, name: str) -> bool:
    deployment = _api("AppsV1Api", api).read_namespaced_deployment_status(name, namespace, _request_timeout=10)
    return bool((deployment.status.available_replicas or 0) >= 1)


def delete_workloads(api: Any, timeout: float = 60.0) -> None:
    """Delete every controller (foreground: its pods go first), then every pod; wait for both."""
    for api_class, list_name, delete_name in _WORKLOADS:
        group = _api(api_class, api)
        for item in getattr(group, list_name)(_request_timeout=15).items:
            try:
                getattr(group, delete_name)(
                    item.metadata.name, item.metadata.namespace, propagation_policy="Foreground", _request_timeout=15
                )
            except ApiException as error:
                if error.status != 404:
                    raise
    core = _api("CoreV1Api", api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(getattr(_api(group, api), lister)(_request_timeout=15).items for group, lister, _d in _WORKLOADS):
            break
        time.sleep(0.5)
    for pod in core.list_pod_for_all_namespaces(_request_timeout=15).items:
        try:
            core.delete_namespaced_pod(
                pod.metadata.name, pod.metadata.namespace, grace_period_seconds=5, _request_timeout=15
            )
        except ApiException as error:
            if error.status != 404:
                raise
    while time.monotonic() < deadline and core.list_pod_for_all_namespaces(_request_timeout=15).items:
        time.sleep(0.5)
    for pod in core.list_pod_for_all_namespaces(_request_timeout=15).items:
        core.delete_namespaced_pod(
            pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0, _request_timeout=15
        )
