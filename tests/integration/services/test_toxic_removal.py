"""Removing toxics from a busy proxy never wedges toxiproxy.

Toxiproxy blocks forever (and with it every later API call on the proxy) when a toxic in front
of a ``reset_peer`` toxic is removed while data is flowing; CI once lost a run to it.  These
stack every kind of toxic on a proxy with connections streaming through it and take them off
again, round after round, at varying moments of the reset's countdown.  (The controller here is
toxiproxy's mechanism only; that each toxic is a fault window on the timeline is the fault
registry's contract, tests/integration/faults/test_fault_contract.py.)
"""

from __future__ import annotations

import time

import pytest
from toxiproxy_traffic import busy_proxy

ROUNDS = 4


@pytest.mark.parametrize("with_timeout", [True, False], ids=["with-timeout-toxic", "without"])
def test_removing_stacked_toxics_from_a_busy_proxy_always_finishes(with_timeout: bool) -> None:
    with busy_proxy() as busy:
        chaos, proxy = busy.chaos, busy.proxy
        for round_ in range(ROUNDS):
            chaos.add_latency(proxy, 200)
            chaos.add_bandwidth_limit(proxy, 100)
            chaos.add_connection_reset(proxy, 1000)
            if with_timeout:
                chaos.add_timeout(proxy, 0)
            time.sleep(0.4 * round_)  # before, during and after the resets fire
            chaos.remove_all_toxics(proxy)
            assert chaos.toxics(proxy) == []


def test_replacing_a_toxic_keeps_the_newer_ones_after_it() -> None:
    with busy_proxy() as busy:
        chaos, proxy = busy.chaos, busy.proxy
        chaos.add_latency(proxy, 200)
        chaos.add_connection_reset(proxy, 1000)
        time.sleep(1.2)  # the reset has fired on some connections and is counting on others
        chaos.add_latency(proxy, 50)
        chain = chaos.toxics(proxy)
        assert [(t["type"], t["attributes"].get("latency")) for t in chain] == [("latency", 50), ("reset_peer", None)]
        assert chain[1]["attributes"]["timeout"] == 1000
        chaos.remove_all_toxics(proxy)
        assert chaos.toxics(proxy) == []
