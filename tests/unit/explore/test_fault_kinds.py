"""Which fault kinds explore draws when none are named."""

from __future__ import annotations

from xmtpd_e2e.explore.fault_kinds import FAULT_KINDS, default_kinds
from xmtpd_e2e.faults import registry


def test_the_default_draw_leaves_out_misbehaving_nodes_but_they_can_be_named() -> None:
    adversarial = {k.name for k in registry.kinds() if k.adversarial}
    assert {"bad-signature", "equivocate", "skip-sequence", "replay-old"} <= adversarial
    assert not adversarial & set(default_kinds())
    assert adversarial <= set(FAULT_KINDS), "named with --faults, they are still drawable"


def test_the_default_draw_is_sorted_and_holds_the_honest_faults() -> None:
    names = default_kinds()
    assert names == sorted(names)
    assert {"kill", "partition", "latency", "database-slow", "chain-reorgs"} <= set(names)
