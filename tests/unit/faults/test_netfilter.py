from __future__ import annotations

import pytest

from xmtpd_e2e.faults.netfilter import DropRules, Flow, chain_name


def test_flow_matches_both_directions_from_inside_the_namespace() -> None:
    flow = Flow("10.0.0.5", 20001)
    assert flow.outbound() == ["-d", "10.0.0.5", "-p", "tcp", "--dport", "20001"]
    assert flow.inbound() == ["-s", "10.0.0.5", "-p", "tcp", "--sport", "20001"]


def test_local_port_flow_and_every_packet_flow() -> None:
    assert Flow("10.0.0.1", None, 5050).inbound() == ["-s", "10.0.0.1", "-p", "tcp", "--dport", "5050"]
    assert Flow().outbound() == ["!", "-o", "lo"]
    assert Flow().inbound() == ["!", "-i", "lo"]


def test_each_direction_has_its_own_chain() -> None:
    script = DropRules(chain_name(7), (Flow(),), 0.3).install_script()
    assert "-A XMTPD-E2E-F7-O ! -o lo -m statistic --mode random --probability 0.300000 -j DROP" in script
    assert "-A XMTPD-E2E-F7-I ! -i lo -m statistic --mode random --probability 0.300000 -j DROP" in script
    assert "-I INPUT 1 -j XMTPD-E2E-F7-I" in script and "-I OUTPUT 1 -j XMTPD-E2E-F7-O" in script
    assert "! -o lo" not in script.split("XMTPD-E2E-F7-I ", 2)[-1].split("\n")[0]


def test_full_drop_and_removal() -> None:
    rules = DropRules("X", (Flow("10.0.0.2"),))
    assert "-A X-O -d 10.0.0.2 -j DROP" in rules.install_script()
    removal = rules.remove_script()
    assert "-D INPUT -j X-I" in removal and "-X X-O" in removal


def test_probability_is_checked() -> None:
    with pytest.raises(ValueError):
        DropRules("X", (Flow(),), 0.0)


def test_spared_flows_return_before_any_drop() -> None:
    dns = (Flow("10.96.0.10", 53, protocol="udp"), Flow("10.96.0.10", 53))
    lines = DropRules("X", (Flow(),), 0.2, spared=dns).install_script().splitlines()
    spare_out = "-A X-O -d 10.96.0.10 -p udp --dport 53 -j RETURN"
    spare_in = "-A X-I -s 10.96.0.10 -p udp --sport 53 -j RETURN"
    assert spare_out in lines and spare_in in lines
    assert "-A X-O -d 10.96.0.10 -p tcp --dport 53 -j RETURN" in lines
    first_drop = next(i for i, line in enumerate(lines) if line.endswith("-j DROP"))
    assert lines.index(spare_out) < first_drop and lines.index(spare_in) < first_drop
    assert Flow("10.96.0.10", 53, protocol="udp").describe().endswith("(udp)")
