"""Removing a run's namespaces and pods, knowing only its record (``xmtpd-e2e cleanup`` after a crash).

Each namespace is recorded (with the kubeconfig, context and server it lives on) before it is
created, and each service's pod (``<namespace>/<service>``, which names its Service too) before
the pod and its Service are created; all are labelled with the run id, so both the recorded ones
and any the record missed are found in the recorded clusters.  Recorded pods are deleted by name
at once (no grace period: the namespace's deletion would otherwise wait out each pod's), then the
namespace, which deletes everything in it; cleanup waits until it is gone, so a namespace still
terminating is never mistaken for removed, and only then forgets it and its pods.
"""

from __future__ import annotations

import logging
import os
import shutil
import time

from kubernetes.client.exceptions import ApiException

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.record import Reclaimer, Resource, RunState
from xmtpd_e2e.runtime import labels
from xmtpd_e2e.runtime.kubernetes.connection import ClusterConnection, connect

__all__ = [
    "NAMESPACE_KIND",
    "POD_KIND",
    "NAMESPACES",
    "pod_ident",
    "forget_pods_of",
    "remove_namespaces",
    "wait_namespace_gone",
]

NAMESPACE_KIND = "namespace"
POD_KIND = "pod"
"""A service's pod and its Service (same name), recorded as ``<namespace>/<service>``."""


def pod_ident(namespace: str, service: str) -> str:
    return f"{namespace}/{service}"


def forget_pods_of(state: RunState, namespace: str) -> None:
    """Forget the pods recorded in ``namespace`` (called once the namespace is gone)."""
    for resource in state.resources(POD_KIND):
        if resource.ident.split("/", 1)[0] == namespace:
            state.forget(POD_KIND, resource.ident)


def wait_namespace_gone(connection: ClusterConnection, name: str, timeout: float = 180.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection.core.read_namespace(name, _request_timeout=10)
        except ApiException as error:
            if error.status == 404:
                return True
            raise
        time.sleep(0.5)
    return False


def _cluster_of(resource: Resource) -> tuple[str, str]:
    return (str(resource.details.get("kubeconfig") or ""), str(resource.details.get("context") or ""))


def _connect_to(kubeconfig: str, context: str) -> ClusterConnection:
    previous = os.environ.get("KUBECONFIG")
    try:
        if kubeconfig:
            os.environ["KUBECONFIG"] = kubeconfig
        return connect(context or None, timeout=5)
    finally:
        if kubeconfig:
            if previous is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = previous


def _delete_pods(connection: ClusterConnection, pods: list[Resource], problems: list[str]) -> None:
    for pod in pods:
        namespace, name = pod.ident.split("/", 1)
        try:
            connection.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0, _request_timeout=15)
        except ApiException as error:
            if error.status != 404:
                problems.append(f"pod {pod.ident}: {error.reason}")


def remove_namespaces(state: RunState, logger: logging.Logger) -> list[str]:
    namespaces = state.resources(NAMESPACE_KIND)
    pods = state.resources(POD_KIND)
    clusters = {_cluster_of(r) for r in namespaces + pods}
    if not clusters:
        return []  # a namespace is recorded before it is created: none recorded, none exists
    volumes = {r.ident: str(r.details.get("volumes") or "") for r in namespaces}
    problems: list[str] = []
    for kubeconfig, context in sorted(clusters):
        here = [r for r in namespaces if _cluster_of(r) == (kubeconfig, context)]
        pods_here = [r for r in pods if _cluster_of(r) == (kubeconfig, context)]
        try:
            connection = _connect_to(kubeconfig, context)
        except SetupError as error:
            named = ", ".join(r.ident for r in here + pods_here)
            problems.append(f"cannot reach the cluster of {named}: {error.problem}")
            continue
        try:
            _delete_pods(connection, pods_here, problems)
            names = {r.ident for r in here} | {r.ident.split("/", 1)[0] for r in pods_here}
            listed = connection.core.list_namespace(label_selector=f"{labels.RUN}={state.run_id}", _request_timeout=15)
            names |= {item.metadata.name for item in listed.items}
            for name in sorted(names):
                try:
                    connection.core.delete_namespace(
                        name, propagation_policy="Background", grace_period_seconds=0, _request_timeout=30
                    )
                except ApiException as error:
                    if error.status != 404:
                        problems.append(f"namespace {name}: {error.reason}")
                        continue
                if wait_namespace_gone(connection, name):
                    if volumes.get(name):  # the services' working directories on the local cluster
                        shutil.rmtree(volumes[name], ignore_errors=True)
                    forget_pods_of(state, name)
                    state.forget(NAMESPACE_KIND, name)
                    logger.debug("namespace %s removed", name)
                else:
                    problems.append(f"namespace {name} is still terminating after 180s")
        finally:
            connection.api_client.close()
    return problems


NAMESPACES = Reclaimer((NAMESPACE_KIND, POD_KIND), remove_namespaces, order=25)
