"""The steered path's redirect: what goes into the service's nat table, and its chain name."""

from __future__ import annotations

from xmtpd_e2e.faults.steered_path import SteeredPath, nat_chain_name


def _path(address: str | None, latencies: list[int] | None = None) -> SteeredPath:
    return SteeredPath(
        alias="node-100",
        what="database",
        namespace=lambda: None,
        destination=(address, 8765),
        proxy=lambda: ("10.0.0.4", 20001),
        set_latency=(latencies if latencies is not None else []).append,
        clear_latency=lambda: None,
        latency_ms=200,
        reset=lambda namespace: None,
        tag="DBPATH",
    )


def test_the_redirect_matches_the_destination_address_and_port() -> None:
    rules = _path("10.213.1.1").rules(("10.0.0.4", 20001))
    assert "-A E2E-DBPATH-node-100 -d 10.213.1.1 -p tcp --dport 8765 -j DNAT --to-destination 10.0.0.4:20001" in rules
    assert rules.startswith("*nat\n") and "-I OUTPUT -j E2E-DBPATH-node-100" in rules and rules.endswith("COMMIT\n")


def test_a_destination_reached_by_name_is_matched_by_port_alone() -> None:
    rules = _path(None).rules(("10.0.0.4", 20001))
    assert "-A E2E-DBPATH-node-100 -p tcp --dport 8765 -j DNAT" in rules


def test_chain_names_fit_iptables() -> None:
    assert len(nat_chain_name("CHAINPATH", "gateway-with-a-very-long-alias-0")) <= 28


def test_a_service_that_is_not_running_gets_the_toxic_and_no_rule_yet() -> None:
    latencies: list[int] = []
    path = _path("10.213.1.1", latencies)
    path.install()
    assert latencies == [200] and not path.redirecting()
