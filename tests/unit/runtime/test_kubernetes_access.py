"""How the kubernetes runtime decides to reach pods by IP: a probe that needs an answer."""

from __future__ import annotations

import socket

import pytest

from xmtpd_e2e.config import KUBE_ACCESS, RunConfig
from xmtpd_e2e.runtime.kubernetes import access
from xmtpd_e2e.runtime.kubernetes.access import pod_ip_answers


def test_a_listening_port_answers() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert pod_ip_answers("127.0.0.1", server.getsockname()[1])


def test_a_refused_connection_still_proves_the_address_is_reached() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    assert pod_ip_answers("127.0.0.1", port)  # closed now: the kernel answers with a reset


@pytest.mark.parametrize("error", [TimeoutError("timed out"), OSError(113, "No route to host")])
def test_silence_or_no_route_means_unreachable(monkeypatch: pytest.MonkeyPatch, error: OSError) -> None:
    def fail(address: tuple[str, int], timeout: float) -> socket.socket:
        raise error

    monkeypatch.setattr(access.socket, "create_connection", fail)
    assert not pod_ip_answers("10.244.0.7", 5050)


def test_auto_is_the_default_and_the_choices_are_the_cli_ones() -> None:
    assert RunConfig().kube_access == access.AUTO
    assert (access.AUTO, access.POD_IP, access.PORT_FORWARD) == KUBE_ACCESS == ("auto", "pod-ip", "port-forward")
    assert RunConfig.from_json(RunConfig(kube_access="pod-ip").to_json()).kube_access == "pod-ip"
