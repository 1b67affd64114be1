"""Which namespaces are a service's own: the runner's is not, a missing one is not."""

from __future__ import annotations

from pathlib import Path

from xmtpd_e2e.faults.namespace import has_own_namespace


def test_the_runners_own_namespace_is_not_a_services_own() -> None:
    assert not has_own_namespace("/proc/self/ns/net")
    assert not has_own_namespace(Path("/proc/self/ns/net"))


def test_a_namespace_that_is_gone_is_not_a_services_own(tmp_path: Path) -> None:
    assert not has_own_namespace(tmp_path / "no-such-namespace")
