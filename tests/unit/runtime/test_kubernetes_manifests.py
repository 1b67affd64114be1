"""Pods and Services of the kubernetes runtime, as the cluster receives them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.runtime import labels
from xmtpd_e2e.runtime.base import ServiceSpec
from xmtpd_e2e.runtime.kubernetes.manifests import (
    FAULT_GATE,
    WORK_DIR,
    fault_gate_container,
    namespace_manifest,
    namespace_name,
    pod_manifest,
    service_manifest,
)
from xmtpd_e2e.runtime.kubernetes.runtime import _open_gate

SPEC = ServiceSpec(
    name="node-100",
    role="node",
    image="xmtpd-e2e-local/xmtpd:v1.2.0",
    command=("replication", "--flag"),
    env={"A": "1"},
    ports=(5050,),
)
WORK = {"emptyDir": {}}


def test_namespace_is_named_and_labelled_with_the_run() -> None:
    name = namespace_name("r1a2b3c4", "e1")
    assert name == "xmtpd-e2e-r1a2b3c4-e1"
    assert namespace_manifest(name, "r1a2b3c4", "e1")["metadata"]["labels"] == {
        labels.RUN: "r1a2b3c4",
        labels.ENV: "e1",
    }


def test_pod_never_restarts_and_keeps_the_image_entrypoint() -> None:
    pod = pod_manifest(SPEC, "r1", "e1", pull_policy="Never", work_volume=WORK)
    assert pod["spec"]["restartPolicy"] == "Never"
    container = pod["spec"]["containers"][0]
    assert container["args"] == ["--flag"] and "command" not in container
    assert container["imagePullPolicy"] == "Never"
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert pod["metadata"]["labels"][labels.SERVICE] == "node-100"
    assert pod["spec"]["enableServiceLinks"] is False
    assert container["workingDir"] == "/work" and pod["spec"]["volumes"] == [{"name": "work", "emptyDir": {}}]
    spread = pod["spec"]["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"] == {labels.RUN: "r1", labels.ENV: "e1"}


def test_service_is_headless_so_every_pod_port_is_reachable_by_name() -> None:
    service = service_manifest(SPEC, "r1", "e1")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert service["spec"]["selector"] == {labels.SERVICE: "node-100"}


def test_the_fault_gate_reads_its_fifo_in_the_work_volume_with_shell_builtins_only() -> None:
    gate = fault_gate_container("xmtpd-e2e-k8s/postgres:local", "Never")
    assert gate["command"][:2] == ["/bin/sh", "-c"]
    assert gate["command"][2] == f"read -r _ < {WORK_DIR}/{FAULT_GATE}"
    assert gate["volumeMounts"] == [{"name": "work", "mountPath": WORK_DIR}]
    pod = pod_manifest(SPEC, "r1", "e1", pull_policy="Never", work_volume=WORK, extra={"initContainers": [gate]})
    assert pod["spec"]["initContainers"] == [gate] and pod["spec"]["containers"][0]["name"] == "main"


def test_the_gate_holds_until_the_framework_writes_its_line(tmp_path: Path) -> None:
    fifo = tmp_path / FAULT_GATE
    os.mkfifo(fifo, 0o666)
    assert not _open_gate(fifo), "no reader yet: nothing to open"
    command = fault_gate_container("any", "Never")["command"][2].replace(WORK_DIR, str(tmp_path))
    gate = subprocess.Popen(["/bin/sh", "-c", command])
    try:
        wait_until(lambda: _open_gate(fifo), bool, timeout=10, description="the gate to read")
        assert gate.wait(timeout=10) == 0
    finally:
        gate.kill()
