"""Network faults are refused up front, with the runtime's own reason, where none can act."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from xmtpd_e2e.api.faults import EnvironmentFaults
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.faults.controller import FaultController
from xmtpd_e2e.timeline import Timeline

REMOTE = SetupError(
    "network faults act inside each pod's network namespace; https://k8s.example is another cluster",
    "use the proxy faults",
)


def _faults() -> EnvironmentFaults:
    def unknown(*_args: Any) -> Any:
        raise AssertionError("participants must not be resolved when no network fault can act")

    runtime = SimpleNamespace(
        name="kubernetes",
        network_faults_unavailable=lambda: REMOTE,
        pause_unavailable=lambda: None,
        host_network_address=lambda: None,
    )
    env: Any = SimpleNamespace(runtime=runtime, node=unknown, nodes=unknown, gateways=unknown)
    return EnvironmentFaults(env, FaultController(Timeline(), logging.getLogger("test")))


@pytest.mark.parametrize(
    "make_fault",
    [
        lambda faults: faults.cut("clients", 100),
        lambda faults: faults.partition({100}),
        lambda faults: faults.add_packet_loss(10, on=100),
        lambda faults: faults.add_packet_loss(10, ("clients", "gateway-0")),
    ],
    ids=["client-path cut", "partition", "loss on a node", "loss between"],
)
def test_the_runtimes_reason_comes_before_any_participant_lookup(make_fault: Any) -> None:
    faults = _faults()
    with pytest.raises(SetupError) as refused:
        make_fault(faults)
    assert REMOTE.problem in str(refused.value) and "kubernetes runtime" in str(refused.value)
    assert "latency" in refused.value.fix, "the refusal names the faults that remain"
    assert not faults.controller.active()
