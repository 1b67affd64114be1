from __future__ import annotations

import pytest

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.links import CHAIN, CLIENTS, Participant, cut_flows, partition_flows
from xmtpd_e2e.faults.netfilter import Flow


def node(n: int) -> Participant:
    return Participant(
        f"node-{n}",
        lambda: f"/ns/{n}",
        (Flow("10.0.0.9", 20000 + n), Flow(f"10.0.0.{n}")),
        (Flow("10.0.0.1", None, 5050),),
    )


CHAIN_P = Participant(CHAIN, lambda: "/ns/anvil", (Flow("10.0.0.50"),), initiates=False)
CLIENTS_P = Participant(CLIENTS, lambda: None)


def test_cut_is_applied_where_the_connection_starts() -> None:
    target = cut_flows(node(1), node(2))
    assert target.where.name == "node-1"
    assert target.flows == (Flow("10.0.0.9", 20002), Flow("10.0.0.2"))


def test_client_path_is_cut_in_the_target() -> None:
    target = cut_flows(CLIENTS_P, node(1))
    assert target.where.name == "node-1" and target.flows == (Flow("10.0.0.1", None, 5050),)


def test_cuts_that_make_no_sense_are_refused() -> None:
    with pytest.raises(E2EError, match="opens no connections"):
        cut_flows(CHAIN_P, node(1))
    with pytest.raises(E2EError, match="never connects"):
        cut_flows(node(1), CLIENTS_P)
    with pytest.raises(E2EError, match="itself"):
        cut_flows(node(1), node(1))


def test_partition_cuts_every_cross_pair_both_ways() -> None:
    targets = {t.where.name: t.flows for t in partition_flows([[node(1)], [node(2), node(3), CHAIN_P]])}
    assert set(targets) == {"node-1", "node-2", "node-3"}
    assert set(targets["node-1"]) == {
        Flow("10.0.0.9", 20002),
        Flow("10.0.0.2"),
        Flow("10.0.0.9", 20003),
        Flow("10.0.0.3"),
        Flow("10.0.0.50"),
    }
    assert set(targets["node-2"]) == {Flow("10.0.0.9", 20001), Flow("10.0.0.1")}


def test_partition_needs_disjoint_groups() -> None:
    with pytest.raises(E2EError, match="two partition groups"):
        partition_flows([[node(1)], [node(1), node(2)]])
    with pytest.raises(E2EError, match="at least two"):
        partition_flows([[node(1), node(2)]])
