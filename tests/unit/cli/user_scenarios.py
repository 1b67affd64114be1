"""A user's own scenario module, loaded with --scenarios (run with the fake environment)."""

from typing import Any

from xmtpd_e2e.runner.scenario import scenario


@scenario("user-passes", "a user's scenario that passes", suites=("fast",))
def user_passes(env: Any) -> None:
    env.require.true(True)


@scenario("user-fails", "a user's scenario whose check fails")
def user_fails(env: Any) -> None:
    env.require.greater_or_equal(3, 10, "envelopes on node 200")


@scenario("user-crashes", "a user's scenario that raises")
def user_crashes(env: Any) -> None:
    raise RuntimeError("unexpected")


@scenario("user-waits", "a user's scenario that waits until it is interrupted")
def user_waits(env: Any) -> None:
    import time

    from unit.runner.fakes import record

    record("waiting", scenario="user-waits")
    time.sleep(120)


@scenario("user-passes-too", "another of a user's scenarios that passes")
def user_passes_too(env: Any) -> None:
    env.require.true(True)


def _nap(name: str) -> None:
    """Record when the body runs (for the pacing test), napping in between."""
    import time

    from unit.runner.fakes import record

    record("body-begins", scenario=name, at=time.time())
    time.sleep(1.0)
    record("body-ends", scenario=name, at=time.time())


def _sets_up(env: Any) -> None:
    """A set-up that takes a moment (the pacing test: it runs before the scenario's turn)."""
    import time

    from unit.runner.fakes import record

    record("set-up-begins", scenario=env.name, at=time.time())
    time.sleep(0.3)


@scenario("user-naps-1", "a user's scenario that naps for a second", setup=_sets_up)
def user_naps_1(env: Any) -> None:
    _nap("user-naps-1")


@scenario("user-naps-2", "a user's scenario that naps for a second", setup=_sets_up)
def user_naps_2(env: Any) -> None:
    _nap("user-naps-2")


@scenario("user-naps-3", "a user's scenario that naps for a second", setup=_sets_up)
def user_naps_3(env: Any) -> None:
    _nap("user-naps-3")
