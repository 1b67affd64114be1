"""Cleanup of a run's namespaces and pods from its record, against a fake Kubernetes API."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.kubernetes import cleanup
from xmtpd_e2e.runtime.kubernetes.cleanup import NAMESPACE_KIND, POD_KIND, pod_ident, remove_namespaces


class FakeCore:
    """Namespaces that vanish once deleted; every call written down."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.namespaces = dict(namespaces)  # name -> run label
        self.calls: list[tuple[Any, ...]] = []

    def delete_namespaced_pod(self, name: str, namespace: str, **kwargs: Any) -> None:
        self.calls.append(("delete pod", namespace, name, kwargs.get("grace_period_seconds")))
        if namespace not in self.namespaces:
            raise ApiException(status=404)

    def list_namespace(self, label_selector: str, **kwargs: Any) -> Any:
        run = label_selector.split("=", 1)[1]
        names = [name for name, label in self.namespaces.items() if label == run]
        return SimpleNamespace(items=[SimpleNamespace(metadata=SimpleNamespace(name=name)) for name in names])

    def delete_namespace(self, name: str, **kwargs: Any) -> None:
        self.calls.append(("delete namespace", name))
        if self.namespaces.pop(name, None) is None:
            raise ApiException(status=404)

    def read_namespace(self, name: str, **kwargs: Any) -> None:
        if name not in self.namespaces:
            raise ApiException(status=404)


@pytest.fixture()
def core(monkeypatch: pytest.MonkeyPatch) -> FakeCore:
    fake = FakeCore({"xmtpd-e2e-r1-e1": "r1", "xmtpd-e2e-r1-e2": "r1", "other": "r2"})
    connection = SimpleNamespace(core=fake, api_client=SimpleNamespace(close=lambda: None))
    monkeypatch.setattr(cleanup, "connect", lambda context, timeout: connection)
    return fake


def test_recorded_pods_go_first_without_grace_then_every_namespace_of_the_run(core: FakeCore, tmp_path: Path) -> None:
    state = RunState.create(tmp_path, "r1")
    state.record(NAMESPACE_KIND, "xmtpd-e2e-r1-e1", kubeconfig="", context="")
    state.record(POD_KIND, pod_ident("xmtpd-e2e-r1-e1", "node-100"), kubeconfig="", context="")

    assert remove_namespaces(state, logging.getLogger("test")) == []

    assert core.calls[0] == ("delete pod", "xmtpd-e2e-r1-e1", "node-100", 0)
    deleted = {call[1] for call in core.calls if call[0] == "delete namespace"}
    assert deleted == {"xmtpd-e2e-r1-e1", "xmtpd-e2e-r1-e2"}, "the unrecorded one is found by its label"
    assert core.namespaces == {"other": "r2"}
    assert state.resources() == []


def test_a_pod_record_alone_still_leads_to_its_namespace(core: FakeCore, tmp_path: Path) -> None:
    state = RunState.create(tmp_path, "r3")
    core.namespaces["xmtpd-e2e-r3-e1"] = "unlabelled"
    state.record(POD_KIND, pod_ident("xmtpd-e2e-r3-e1", "anvil"), kubeconfig="", context="")

    assert remove_namespaces(state, logging.getLogger("test")) == []

    assert "xmtpd-e2e-r3-e1" not in core.namespaces
    assert state.resources() == []


def test_an_unreachable_cluster_keeps_the_records_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from xmtpd_e2e.errors import SetupError

    def unreachable(context: str | None, timeout: float) -> Any:
        raise SetupError("the Kubernetes API at https://10.244.0.1:6443 does not answer", "start it")

    monkeypatch.setattr(cleanup, "connect", unreachable)
    state = RunState.create(tmp_path, "r4")
    state.record(NAMESPACE_KIND, "xmtpd-e2e-r4-e1", kubeconfig="", context="")
    state.record(POD_KIND, pod_ident("xmtpd-e2e-r4-e1", "node-100"), kubeconfig="", context="")

    problems = remove_namespaces(state, logging.getLogger("test"))

    assert len(problems) == 1 and "does not answer" in problems[0] and "node-100" in problems[0]
    assert len(state.resources()) == 2
