"""The exception hierarchy every layer raises.

Three families matter to the runner because they decide a scenario's status and the process exit
code:

* :class:`SetupError` -- the machine or the input is wrong (no Docker engine, a missing binary, an
  invalid private key, a port in use).  The message names the problem *and* the fix.  The CLI exits
  with code 2 for these, never 1.
* :class:`CheckFailed` -- a scenario's assertion did not hold.  Reported as FAIL.
* anything else raised from a scenario -- an unexpected error.  Reported as ERROR, traceback kept.
"""

from __future__ import annotations

__all__ = [
    "E2EError",
    "SetupError",
    "CheckFailed",
    "ScenarioTimeout",
    "Interrupted",
    "RunAborted",
    "ServiceError",
    "ServiceNotReady",
    "WaitTimeout",
]


class E2EError(Exception):
    """Base class of every error this framework raises on purpose."""


class SetupError(E2EError):
    """The environment cannot be built as asked; ``fix`` tells the user what to do.

    The CLI prints ``problem`` and ``fix`` on separate lines and exits with code 2.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}\n  fix: {fix}" if fix else problem)


class CheckFailed(E2EError, AssertionError):
    """A scenario check (``env.require.*`` or a framework invariant) did not hold.

    It subclasses :class:`AssertionError` so plain ``assert`` failures and these are treated alike.
    """


class RunAborted(BaseException):
    """Raised by a signal handler wherever the main thread happens to be.

    Deliberately *not* an ``Exception``: an ``except Exception`` in a scenario, a polling loop or
    a library (a "is Docker there?" probe, say) must not swallow a timeout or a Ctrl-C and carry on.
    """


class ScenarioTimeout(RunAborted):
    """The scenario ran past its ``--timeout``; raised inside the scenario so teardown runs."""


class Interrupted(RunAborted, KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; raised in the main thread so every ``finally`` runs."""

    def __init__(self, signal_name: str) -> None:
        self.signal_name = signal_name
        super().__init__(f"interrupted by {signal_name}")


class ServiceError(E2EError):
    """A service (container or process) could not be started, stopped or reached."""


class ServiceNotReady(ServiceError):
    """A service started but never became ready; ``logs_tail`` holds its last log lines."""

    def __init__(self, service: str, reason: str, logs_tail: str = "") -> None:
        self.service = service
        self.logs_tail = logs_tail
        message = f"{service} did not become ready: {reason}"
        if logs_tail:
            message += f"\n--- last log lines of {service} ---\n{logs_tail}"
        super().__init__(message)


class WaitTimeout(CheckFailed):
    """A polling wait reached its deadline; the message says what was awaited and the last value."""
