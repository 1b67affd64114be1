"""The Kubernetes objects of an environment: its namespace, and per service a pod and a Service.

Each service's Service is *headless* with ``publishNotReadyAddresses``: its DNS name resolves
straight to the pod's IP, so every port the pod opens is reachable under the service's name
(toxiproxy opens proxy ports at run time, which a Service port list could not know), and a pod
that is started again is found under the same name.  Pods never restart on their own
(``restartPolicy: Never``): a killed node stays down until the scenario starts it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xmtpd_e2e.runtime import labels
from xmtpd_e2e.runtime.base import ServiceSpec

__all__ = [
    "WORK_DIR",
    "FILES_DIR",
    "FAULT_GATE",
    "fault_gate_container",
    "file_path",
    "namespace_manifest",
    "pod_manifest",
    "service_manifest",
    "environment_labels",
    "namespace_name",
]

_GRACE_SECONDS = 10


def file_path(host_file: Path) -> str:
    return f"{FILES_DIR}/{host_file.name}"


def namespace_name(run_id: str, env_id: str) -> str:
    return f"xmtpd-e2e-{run_id}-{env_id}".lower().replace("_", "-")[:63].rstrip("-")


def environment_labels(run_id: str, env_id: str) -> dict[str, str]:
    return {labels.RUN: run_id, labels.ENV: env_id}


def namespace_manifest(name: str, run_id: str, env_id: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": environment_labels(run_id, env_id)},
    }


def _service_labels(spec: ServiceSpec, run_id: str, env_id: str) -> dict[str, str]:
    return {**environment_labels(run_id, env_id), labels.SERVICE: spec.name, labels.ROLE: spec.role}


FILES_DIR = "/xmtpd-e2e/files"
"""Where a pod finds the host files its service names (baked into the images the framework loads)."""
WORK_DIR = "/work"
"""Each service's working directory: a volume that outlives the pod (see ``work_volume``)."""


def pod_manifest(
    spec: ServiceSpec,
    run_id: str,
    env_id: str,
    *,
    pull_policy: str,
    work_volume: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The pod running ``spec``: the image's entrypoint is the program, so only the arguments
    (``command[1:]``) are passed, as on the docker runtime.  ``work_volume`` (a pod volume source) is
    mounted as the working directory, so what the service keeps there survives a restart."""
    container: dict[str, Any] = {
        "name": "main",
        "image": spec.image,
        "imagePullPolicy": pull_policy,
        "env": [{"name": key, "value": value} for key, value in spec.env.items()],
        "ports": [{"containerPort": port, "protocol": "TCP"} for port in spec.ports],
        "workingDir": WORK_DIR,
        "volumeMounts": [{"name": "work", "mountPath": WORK_DIR}],
    }
    if spec.command[1:]:
        container["args"] = list(spec.command[1:])
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": spec.name, "labels": _service_labels(spec, run_id, env_id)},
        "spec": {
            "restartPolicy": "Never",
            "hostname": spec.name,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,  # no SERVICE_HOST/PORT variables leaking into xmtpd's env
            "terminationGracePeriodSeconds": _GRACE_SECONDS,
            # One environment's pods spread over the nodes (nothing may assume a single host).
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": environment_labels(run_id, env_id)},
                }
            ],
            "containers": [container],
            "volumes": [{"name": "work", **work_volume}],
        },
    }
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(pod["spec"].get(key), dict):
            pod["spec"][key].update(value)
        else:
            pod["spec"][key] = value
    return pod


FAULT_GATE = ".fault-gate"
"""The FIFO in a service's working directory that its pod's fault gate reads (see below)."""


def fault_gate_container(image: str, pull_policy: str) -> dict[str, Any]:
    """An init container that holds a restarted pod's program back until the framework has put
    the faults it carries over into the pod's network namespace, which exists from the pod's
    sandbox on: it blocks reading the FIFO :data:`FAULT_GATE` in the work volume until the
    framework writes a line to it.  ``image`` needs only a POSIX shell (``read`` is built in)."""
    return {
        "name": "fault-gate",
        "image": image,
        "imagePullPolicy": pull_policy,
        "command": ["/bin/sh", "-c", f"read -r _ < {WORK_DIR}/{FAULT_GATE}"],
        "volumeMounts": [{"name": "work", "mountPath": WORK_DIR}],
    }


def service_manifest(spec: ServiceSpec, run_id: str, env_id: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": spec.name, "labels": _service_labels(spec, run_id, env_id)},
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": {labels.SERVICE: spec.name},
            "ports": [{"name": f"p{port}", "port": port, "targetPort": port, "protocol": "TCP"} for port in spec.ports],
        },
    }
