"""The timeline: spans, instants, listeners and round-tripping through the results JSON."""

from __future__ import annotations

import threading

from xmtpd_e2e.timeline import Timeline, TimelineEvent


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_span_is_open_until_finished_and_finish_is_idempotent() -> None:
    clock = FakeClock()
    timeline = Timeline(clock)
    event = timeline.begin("fault", "partition", ("node-100", "node-300"), groups=[[100], [300]])
    assert event.active and timeline.active("fault") == [event]
    clock.now = 1005.0
    timeline.finish(event, healed=True)
    clock.now = 1009.0
    timeline.finish(event)
    assert event.end == 1005.0 and event.duration == 5.0
    assert event.params == {"groups": [[100], [300]], "healed": True}
    assert timeline.active() == []


def test_instant_and_span_context_manager_close_even_on_error() -> None:
    clock = FakeClock()
    timeline = Timeline(clock)
    kill = timeline.instant("service", "kill", ("node-200",))
    assert kill.start == kill.end == 1000.0
    try:
        with timeline.span("phase", "publish"):
            clock.now = 1002.0
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    phase = timeline.events("phase")[0]
    assert (phase.start, phase.end) == (1000.0, 1002.0)


def test_events_are_ordered_by_start_and_overlap_is_inclusive() -> None:
    clock = FakeClock()
    timeline = Timeline(clock)
    clock.now = 20.0
    late = timeline.instant("check", "verdict")
    clock.now = 10.0
    early = timeline.begin("fault", "latency", ("node-100",))
    assert timeline.events() == [early, late]
    assert early.overlaps(100.0, 200.0)  # still open: it holds at any later moment
    clock.now = 15.0
    timeline.finish(early)
    assert early.overlaps(15.0, 16.0) and not early.overlaps(15.1, 16.0)


def test_finish_all_closes_only_the_kind_asked_for() -> None:
    timeline = Timeline(FakeClock())
    fault = timeline.begin("fault", "pause", ("node-100",))
    phase = timeline.begin("phase", "scenario")
    assert timeline.finish_all("fault", ended_by="teardown") == [fault]
    assert fault.params["ended_by"] == "teardown" and phase.active


def test_listeners_see_every_transition_and_a_broken_one_is_ignored() -> None:
    timeline = Timeline(FakeClock())
    seen: list[tuple[str, str]] = []

    def broken(event: TimelineEvent, transition: str) -> None:
        raise ValueError("listener bug")

    timeline.subscribe(broken)
    unsubscribe = timeline.subscribe(lambda event, transition: seen.append((event.name, transition)))
    span = timeline.begin("fault", "loss")
    timeline.finish(span)
    timeline.instant("service", "stop")
    unsubscribe()
    timeline.instant("service", "start")
    assert seen == [("loss", "begin"), ("loss", "finish"), ("stop", "instant")]


def test_round_trip_through_dicts() -> None:
    timeline = Timeline(FakeClock())
    timeline.finish(timeline.begin("fault", "cut", ("node-100", "node-200"), one_way=True))
    timeline.begin("phase", "never-closed")
    again = Timeline.from_list(timeline.to_list())
    assert [e.to_dict() for e in again.events()] == timeline.to_list()
    assert again.active()[0].name == "never-closed"


def test_concurrent_writers_get_unique_ids() -> None:
    timeline = Timeline()

    def write() -> None:
        for _ in range(200):
            timeline.instant("traffic", "publish")

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [e.id for e in timeline.events()]
    assert len(ids) == len(set(ids)) == 800
