from __future__ import annotations

import logging

import pytest

from xmtpd_e2e.faults.controller import FaultController, Piece
from xmtpd_e2e.timeline import Timeline


def test_a_fault_is_a_timeline_span_until_healed() -> None:
    timeline = Timeline()
    controller = FaultController(timeline, logging.getLogger("test"))
    log: list[str] = []
    fault = controller.apply(
        "partition",
        ("node-100",),
        {"groups": [[100]]},
        [Piece("p", lambda: log.append("on"), lambda: log.append("off"))],
    )
    [event] = timeline.active("fault")
    assert event.name == "partition" and event.targets == ("node-100",) and event.params["groups"] == [[100]]
    fault.heal()
    fault.heal()
    assert log == ["on", "off"] and not timeline.active("fault") and not controller.active()


def test_a_failing_piece_undoes_the_installed_ones_and_records_nothing() -> None:
    timeline = Timeline()
    controller = FaultController(timeline, logging.getLogger("test"))
    log: list[str] = []

    def fail() -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        controller.apply(
            "cut",
            ("a",),
            {},
            [
                Piece("1", lambda: log.append("on"), lambda: log.append("off")),
                Piece("2", fail, lambda: log.append("never")),
            ],
        )
    assert log == ["on", "off"] and not timeline.events() and not controller.active()


def test_heal_all_heals_newest_first_and_keeps_going() -> None:
    controller = FaultController(Timeline(), logging.getLogger("test"))
    order: list[int] = []

    def broken() -> None:
        raise RuntimeError("broken")

    controller.apply("a", (), {}, [Piece("1", lambda: None, lambda: order.append(1))])
    controller.apply("b", (), {}, [Piece("2", lambda: None, broken)])
    controller.apply("c", (), {}, [Piece("3", lambda: None, lambda: order.append(3))])
    with pytest.raises(RuntimeError):
        controller.heal_all()
    assert order == [3, 1] and not controller.active()
