"""Bringing the local cluster up and down leaves the host exactly as it was.

Compared before and after: sysctls, iptables chains (both families), nftables tables, mounts,
top-level cgroups, the fixed directories the kubelet/containerd create, links and network
namespaces.  Bringing it up a second time while it is up changes nothing.  If the cluster was up when the test began, it is brought down first and up again
at the end.
"""

from __future__ import annotations

import dataclasses

import pytest

from xmtpd_e2e.infra.kubernetes.cluster import cluster_down, cluster_status, cluster_up
from xmtpd_e2e.infra.kubernetes.host_state import read_sysctl
from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout

from host_snapshot import snapshot

pytestmark = pytest.mark.kubernetes


def test_teardown_restores_the_host() -> None:
    layout = ClusterLayout.default()
    was_up = cluster_status(layout).up
    if was_up:
        assert cluster_down(layout) == []
    before = snapshot()
    try:
        cluster_up(layout)
        cluster_up(layout)  # again while up: what runs is left running, CoreDNS's objects stay
        during = snapshot()
        assert cluster_status(layout).up
        assert read_sysctl("vm.overcommit_memory") == "1"  # the kubelet's: teardown must undo it
        assert during != before
        problems = cluster_down(layout)
        after = snapshot()
        assert problems == []
        for field in dataclasses.fields(before):
            assert getattr(after, field.name) == getattr(before, field.name), field.name
    finally:
        if was_up:
            cluster_up(layout)
