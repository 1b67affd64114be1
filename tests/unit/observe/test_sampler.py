"""The background sampler: counts and lag per node, gaps instead of failures, late nodes."""

from __future__ import annotations

import time

from xmtpd_e2e.observe.sampler import NodeSampler, replication_lag


class FakeNode:
    def __init__(self, clock: dict[int, int], fail: bool = False) -> None:
        self.clock = clock
        self.fail = fail

    def envelope_count(self, *, client_only: bool = False) -> int:
        if self.fail:
            raise ConnectionError("database gone")
        return sum(self.clock.values())

    def vector_clock(self) -> dict[int, int]:
        return dict(self.clock)


def test_lag_counts_envelopes_behind_the_most_advanced_node_per_originator() -> None:
    lags = replication_lag({"a": {100: 10, 200: 5}, "b": {100: 7}, "c": {200: 9}})
    assert lags == {"a": 4, "b": 3 + 9, "c": 10}


def test_a_failing_node_is_a_gap_not_an_error_and_later_nodes_are_sampled() -> None:
    nodes = {"node-100": FakeNode({100: 3}), "node-200": FakeNode({100: 1}, fail=True)}
    ticks = iter([1000.0, 1001.0])
    sampler = NodeSampler(lambda: nodes, clock=lambda: next(ticks))
    sampler.sample_once()
    nodes["node-200"].fail = False
    nodes["node-300"] = FakeNode({100: 3})
    sampler.sample_once()
    data = sampler.to_dict()["nodes"]
    assert data["node-100"] == [[1000.0, 3, 0], [1001.0, 3, 0]]
    assert data["node-200"] == [[1001.0, 1, 2]]
    assert data["node-300"] == [[1001.0, 3, 0]]


def test_the_thread_samples_until_stopped() -> None:
    sampler = NodeSampler(lambda: {"node-100": FakeNode({100: 1})}, interval=0.02)
    sampler.start()
    deadline = time.monotonic() + 5
    while len(sampler.samples().get("node-100", [])) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    sampler.stop()
    taken = len(sampler.samples()["node-100"])
    assert taken >= 3
    time.sleep(0.1)
    assert len(sampler.samples()["node-100"]) == taken
