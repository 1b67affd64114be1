from typing import Any

from xmtpd_e2e.observe.invariants import check_invariants


class FakeObserver:
    def __init__(self, keys: set[tuple[int, int]], clock: dict[int, int], staged: int = 0) -> None:
        self.keys, self.clock, self.staged = keys, clock, staged

    def envelope_keys(self, client_only: bool = True) -> set[tuple[int, int]]:
        return self.keys

    def vector_clock(self) -> dict[int, int]:
        return self.clock

    def staged_envelope_count(self) -> int:
        return self.staged


def observers(**nodes: Any) -> Any:
    return {int(name[1:]): obs for name, obs in nodes.items()}


def test_all_present_and_converged_passes() -> None:
    keys = {(100, 1), (100, 2)}
    report = check_invariants(
        observers(n100=FakeObserver(keys, {100: 2}), n200=FakeObserver(keys, {100: 2})), keys, timeout=0
    )
    assert report.ok and report.violations == []


def test_missing_envelopes_are_named() -> None:
    keys = {(100, 1), (100, 2), (200, 7)}
    report = check_invariants(
        observers(n100=FakeObserver(keys, {100: 2, 200: 7}), n300=FakeObserver({(100, 1)}, {100: 2, 200: 7})),
        keys,
        timeout=0,
    )
    assert report.missing == {300: [(100, 2), (200, 7)]}
    assert any("node 300 is missing 2 of 3" in v and "100:2" in v and "200:7" in v for v in report.violations)


def test_diverging_clocks_and_staged_rows_are_violations() -> None:
    report = check_invariants(
        observers(n100=FakeObserver(set(), {100: 3}), n200=FakeObserver(set(), {100: 2}, staged=4)),
        [],
        timeout=0,
    )
    assert any("vector clocks differ" in v for v in report.violations)
    assert any("node 200 has 4 staged envelopes" in v for v in report.violations)


def test_waits_for_convergence() -> None:
    late = FakeObserver(set(), {100: 1})
    calls = {"n": 0}

    def keys(client_only: bool = True) -> set[tuple[int, int]]:
        calls["n"] += 1
        return {(100, 1)} if calls["n"] > 2 else set()

    late.envelope_keys = keys  # type: ignore[method-assign]
    report = check_invariants(
        observers(n100=FakeObserver({(100, 1)}, {100: 1}), n200=late), {(100, 1)}, timeout=5, interval=0.01
    )
    assert report.ok
