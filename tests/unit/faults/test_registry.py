"""The registry: every kind well formed, lookups and explore's draw set independent of order."""

from __future__ import annotations

import random

import pytest

from xmtpd_e2e.faults.capabilities import NAMESPACE_RULES, NETEM, Capabilities
from xmtpd_e2e.faults.kinds.network import partition_label
from xmtpd_e2e.faults.registry import UnknownFaultKind, drawable_kinds, kind, kinds


def test_every_kind_is_well_formed_and_listed_sorted() -> None:
    names = [k.name for k in kinds()]
    assert names == sorted(names) and len(set(names)) == len(names)
    for each in kinds():
        assert each.description and each.roles, each.name  # no needs: it acts on every runtime
        assert each.name == each.name.lower() and " " not in each.name


def test_the_familiar_faults_are_all_kinds() -> None:
    for name in ("partition", "cut", "packet-loss", "bandwidth", "pause", "latency", "proxy-bandwidth", "disconnect"):
        assert kind(name).name == name


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(UnknownFaultKind, match="known: .*partition"):
        kind("flood")


def test_explore_leaves_out_what_the_runtime_lacks_with_the_reason() -> None:
    lacking = Capabilities("local", {NAMESPACE_RULES: "not root", NETEM: "no sch_netem"})
    usable, left_out = drawable_kinds(lacking)
    assert "partition" not in [k.name for k in usable] and left_out["partition"] == "not root"
    assert left_out["duplication"] == "no sch_netem"
    assert "latency" in [k.name for k in usable]


def test_explore_draw_set_does_not_depend_on_the_order_names_are_given() -> None:
    full = Capabilities("docker")
    a, _ = drawable_kinds(full, ["pause", "latency", "kill"])
    b, _ = drawable_kinds(full, ["kill", "pause", "latency", "kill"])
    assert [k.name for k in a] == [k.name for k in b] == ["kill", "latency", "pause"]


def test_default_draws_come_from_the_declared_values() -> None:
    drawn = kind("latency").draw(random.Random(1), "node-100", ["node-100", "node-200"])
    assert drawn["on"] == "node-100" and drawn["latency_ms"] in (200, 500, 1000, 2000)
    cut = kind("cut").draw(random.Random(1), "node-100", ["node-100"])
    assert cut == {"source": "node-100", "destination": "chain"}


def test_a_partition_is_labelled_with_its_groups() -> None:
    assert partition_label([["node-300"], ["node-200", "node-100"]]) == "{node-300} | {node-100, node-200}"


def test_capabilities_are_probed_only_when_a_kind_asks_and_a_failing_probe_means_missing() -> None:
    from types import SimpleNamespace
    from typing import Any

    from xmtpd_e2e.faults.capabilities import capabilities_of

    asked: list[str] = []

    def broken() -> None:
        asked.append("network")
        raise RuntimeError("no engine")

    runtime: Any = SimpleNamespace(name="fake", network_faults_unavailable=broken, pause_unavailable=lambda: None)
    capabilities = capabilities_of(runtime)
    assert kind("latency").unavailable(capabilities) is None and not asked
    reason = kind("partition").unavailable(capabilities)
    assert reason is not None and "no engine" in reason and asked == ["network"]
