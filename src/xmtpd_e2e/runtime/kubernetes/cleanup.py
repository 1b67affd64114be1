"""Removing a run's namespaces, knowing only its record (``xmtpd-e2e cleanup`` after a crash).

Each namespace is recorded (with the kubeconfig, context and server it lives on) before it is
created, and labelled with the run id, so both the recorded ones and any the record missed are
found in the recorded clusters.  Deleting a namespace deletes everything in it; cleanup waits until it is gone, so a
namespace still terminating is never mistaken for removed.
"""

from __future__ import annotations

import logging
import os
import shutil

from kubernetes.client.exceptions import ApiException

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.record import Reclaimer, RunState
from xmtpd_e2e.runtime import labels
from xmtpd_e2e.runtime.kubernetes.connection import connect

__all__ = ["NAMESPACES", "remove_namespaces"]

NAMESPACE_KIND = "namespace"


def remove_namespaces(state: RunState, logger: logging.Logger) -> list[str]:
    from xmtpd_e2e.runtime.kubernetes.runtime import wait_namespace_gone

    recorded = state.resources(NAMESPACE_KIND)
    contexts = {(str(r.details.get("kubeconfig") or ""), str(r.details.get("context") or "")) for r in recorded}
    if not contexts:
        return []  # a namespace is recorded before it is created: none recorded, none exists
    volumes = {r.ident: str(r.details.get("volumes") or "") for r in recorded}
    problems: list[str] = []
    for kubeconfig, context in sorted(contexts):
        previous = os.environ.get("KUBECONFIG")
        try:
            if kubeconfig:
                os.environ["KUBECONFIG"] = kubeconfig
            connection = connect(context or None, timeout=5)
        except SetupError as error:
            problems.append(
                f"cannot reach the cluster of namespaces {', '.join(r.ident for r in recorded)}: {error.problem}"
            )
            continue
        finally:
            if kubeconfig:
                if previous is None:
                    os.environ.pop("KUBECONFIG", None)
                else:
                    os.environ["KUBECONFIG"] = previous
        try:
            names = {r.ident for r in recorded}
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
                    state.forget(NAMESPACE_KIND, name)
                    logger.debug("namespace %s removed", name)
                else:
                    problems.append(f"namespace {name} is still terminating after 180s")
        finally:
            connection.api_client.close()
    return problems


NAMESPACES = Reclaimer((NAMESPACE_KIND,), remove_namespaces, order=25)
