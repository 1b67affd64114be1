"""The runtime registry: choices, ``auto`` selection and the cleanup it gathers."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from xmtpd_e2e.config import AUTO_RUNTIME
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.record import Reclaimer, RunState
from xmtpd_e2e.runtime.base import Runtime
from xmtpd_e2e.runtime.registry import RUNTIMES, RuntimeEntry, RuntimeRegistry, RuntimeRequest


def _never_created(request: RuntimeRequest) -> Runtime:
    raise AssertionError("not built in these tests")


def _no_reclaimers() -> Sequence[Reclaimer]:
    return ()


def _entry(name: str, problem: SetupError | None = None, *, auto: bool = True) -> RuntimeEntry:
    return RuntimeEntry(name, f"the {name} runtime", _never_created, lambda: problem, _no_reclaimers, auto=auto)


def test_auto_picks_the_first_available_runtime_that_allows_it() -> None:
    registry = RuntimeRegistry()
    registry.register(_entry("explicit-only", auto=False))
    registry.register(_entry("absent", SetupError("engine down", "start it")))
    registry.register(_entry("present"))
    assert registry.choices() == (AUTO_RUNTIME, "explicit-only", "absent", "present")
    assert registry.resolve(AUTO_RUNTIME).name == "present"
    assert registry.resolve("explicit-only").name == "explicit-only"


def test_an_unavailable_or_unknown_runtime_is_a_setup_error_saying_what_to_do() -> None:
    registry = RuntimeRegistry()
    registry.register(_entry("absent", SetupError("engine down", "start it")))
    with pytest.raises(SetupError, match="engine down"):
        registry.resolve("absent")
    with pytest.raises(SetupError, match="unknown runtime 'nope'") as error:
        registry.resolve("nope")
    assert "auto | absent" in error.value.fix
    with pytest.raises(SetupError, match="no runtime can run here"):
        registry.resolve(AUTO_RUNTIME)


def test_names_are_unique_and_auto_is_reserved() -> None:
    registry = RuntimeRegistry()
    registry.register(_entry("one"))
    for name in ("one", AUTO_RUNTIME):
        with pytest.raises(ValueError, match="taken"):
            registry.register(_entry(name))


def test_every_registered_runtime_brings_its_cleanup() -> None:
    assert len(RUNTIMES.names()) >= 2
    for entry in RUNTIMES:
        kinds = [kind for reclaimer in entry.reclaimers() for kind in reclaimer.kinds]
        assert kinds, f"{entry.name} registers no resource kinds to clean up"


def test_cleanup_reports_a_kind_nobody_can_remove(tmp_path: object) -> None:
    from pathlib import Path

    from xmtpd_e2e.runner.cleanup import remove_resources

    state = RunState.create(Path(str(tmp_path)), "rfeedbee1")
    state.record("spaceship", "enterprise")
    problems = remove_resources(state, logger=logging.getLogger("test"))
    assert problems == ["spaceship enterprise: no registered runtime knows how to remove this kind"]
    assert [r.kind for r in state.resources()] == ["spaceship"]
