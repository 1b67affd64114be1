"""What of a run still exists on the system, found without the run's own record.

Used by the tests that promise "nothing left behind": processes carrying the run marker (or
working inside the run's directory), Docker containers and networks and Kubernetes namespaces
and pods labelled with the run id, Postgres databases named after it, and the run's directories.
"""

from __future__ import annotations

from pathlib import Path

import docker
import psycopg

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runtime.netns import links_of_run, namespaces_of_run, namespaces_available, rules_of_run
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.kubernetes.connection import connect
from xmtpd_e2e.runtime.labels import RUN as RUN_LABEL
from xmtpd_e2e.runtime.processes import processes_of_run

__all__ = ["system_leftovers"]


def system_leftovers(run_id: str, home: Path, postgres_dsn: str | None = None) -> dict[str, list[str]]:
    """Every kind of thing of ``run_id`` still present, by kind; empty when nothing is left."""
    found: dict[str, list[str]] = {"processes": [str(pid) for pid in processes_of_run(run_id)]}
    found["directories"] = [str(p) for p in RunState.directory(home).glob(f"{run_id}*") if p.is_dir()]
    found["namespaces"] = namespaces_of_run(run_id)
    found["links"] = links_of_run(run_id)
    if namespaces_available() is None:  # reading iptables needs root
        found["host_rules"] = [f"{table}: {' '.join(rule)}" for table, rule in rules_of_run(run_id)]
    if postgres_dsn is not None:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"e2e_{run_id}%",)).fetchall()
        found["databases"] = [row[0] for row in rows]
    client = docker.from_env()
    try:
        label = {"label": f"{RUN_LABEL}={run_id}"}
        found["containers"] = [c.name for c in client.containers.list(all=True, filters=label)]
        found["networks"] = [n.name for n in client.networks.list(filters=label)]
    finally:
        client.close()
    found["kube_namespaces"], found["kube_pods"] = _kube_objects_of_run(run_id)
    return {kind: items for kind, items in found.items() if items}


def _kube_objects_of_run(run_id: str) -> tuple[list[str], list[str]]:
    """Kubernetes namespaces and pods (``namespace/name``) labelled with the run id, on the
    cluster the kubeconfig reaches."""
    try:
        connection = connect(None, timeout=3)
    except SetupError:
        return [], []
    selector = f"{RUN_LABEL}={run_id}"
    try:
        namespaces = connection.core.list_namespace(label_selector=selector, _request_timeout=15)
        pods = connection.core.list_pod_for_all_namespaces(label_selector=selector, _request_timeout=15)
        return (
            [str(item.metadata.name) for item in namespaces.items],
            [f"{item.metadata.namespace}/{item.metadata.name}" for item in pods.items],
        )
    finally:
        connection.api_client.close()
