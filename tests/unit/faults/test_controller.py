from __future__ import annotations

import logging

import pytest

from xmtpd_e2e.faults.controller import FaultController, Piece
from xmtpd_e2e.faults.registry import Restart
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


def test_a_restart_that_lost_a_piece_reinstalls_it_and_records_the_gap() -> None:
    timeline = Timeline()
    controller = FaultController(timeline, logging.getLogger("test"))
    installed = {"rules": False}

    def install() -> None:
        installed["rules"] = True

    piece = Piece("rules", install, lambda: None, "node-300", present=lambda: installed["rules"])
    fault = controller.apply("partition", ("node-300",), {}, [piece])
    controller.service_restarted("node-300", launched_at=1.0)
    assert fault.gaps == [], "rules still in place: no gap"
    installed["rules"] = False  # a new namespace without them
    controller.service_restarted("node-300", launched_at=2.0)
    [[start, end]] = fault.gaps
    assert start == 2.0 and end is not None and end >= start and installed["rules"]


def test_a_failed_reinstall_leaves_the_gap_open_until_healed() -> None:
    controller = FaultController(Timeline(), logging.getLogger("test"))
    attempts: list[int] = []

    def install() -> None:
        attempts.append(1)
        if len(attempts) > 1:
            raise RuntimeError("namespace gone")

    fault = controller.apply(
        "cut", ("node-300",), {}, [Piece("r", install, lambda: None, "node-300", present=lambda: False)]
    )
    controller.service_restarted("node-300", launched_at=5.0)
    assert fault.gaps == [[5.0, None]]
    fault.heal()
    assert fault.gaps[0][1] is not None


def test_a_pause_ends_with_a_restart() -> None:
    controller = FaultController(Timeline(), logging.getLogger("test"))
    fault = controller.apply(
        "pause", ("node-100",), {}, [Piece("p", lambda: None, lambda: None, "node-100", restart=Restart.ENDS)]
    )
    controller.service_restarted("node-100")
    assert fault.healed and not controller.active()


def test_pieces_installed_before_the_restarted_process_runs_leave_no_gap() -> None:
    controller = FaultController(Timeline(), logging.getLogger("test"))
    present = {"node-300": True, "node-100": True}
    installs: list[str] = []

    def piece(where: str) -> Piece:
        def install() -> None:
            installs.append(where)
            present[where] = True

        return Piece(where, install, lambda: None, where, present=lambda: present[where])

    fault = controller.apply("partition", ("node-300",), {}, [piece("node-300"), piece("node-100")])
    present.update({"node-300": False, "node-100": False})  # only node-300 restarts; node-100 is checked later
    installs.clear()
    controller.install_before_run("node-300")
    assert installs == ["node-300"]
    controller.service_restarted("node-300", launched_at=1.0)
    assert fault.gaps == [] and installs == ["node-300"]


def test_a_piece_that_fails_before_the_run_gets_its_gap_after_it() -> None:
    controller = FaultController(Timeline(), logging.getLogger("test"))
    state = {"present": True, "namespace_ready": True}

    def install() -> None:
        if not state["namespace_ready"]:
            raise RuntimeError("namespace not there yet")
        state["present"] = True

    fault = controller.apply(
        "cut", ("node-300",), {}, [Piece("r", install, lambda: None, "node-300", present=lambda: state["present"])]
    )
    state.update(present=False, namespace_ready=False)
    controller.install_before_run("node-300")  # logged, not raised
    assert not state["present"] and fault.gaps == []
    state["namespace_ready"] = True
    controller.service_restarted("node-300", launched_at=3.0)
    [[start, end]] = fault.gaps
    assert start == 3.0 and end is not None and state["present"]


def test_nothing_is_installed_before_the_run_for_a_fault_that_a_restart_ends() -> None:
    controller = FaultController(Timeline(), logging.getLogger("test"))
    installs: list[str] = []
    piece = Piece(
        "p", lambda: installs.append("pause"), lambda: None, "node-100", restart=Restart.ENDS, present=lambda: False
    )
    controller.apply("pause", ("node-100",), {}, [piece])
    installs.clear()
    controller.install_before_run("node-100")  # a pause of a process not running yet means nothing
    controller.service_restarted("node-100")
    assert installs == [] and not controller.active()
