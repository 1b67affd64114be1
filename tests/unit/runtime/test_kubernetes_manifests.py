"""Pods and Services of the kubernetes runtime, as the cluster receives them."""

from __future__ import annotations

from xmtpd_e2e.runtime import labels
from xmtpd_e2e.runtime.base import ServiceSpec
from xmtpd_e2e.runtime.kubernetes.manifests import namespace_manifest, namespace_name, pod_manifest, service_manifest

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
