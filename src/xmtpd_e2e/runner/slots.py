"""Slots: how ``run --parallel N`` paces its worker processes.

``N`` bounds the scenarios *running* at once, not the environments that exist.  A worker starts
its environment's base services (chain, Redis, toxiproxy, MLS validation) as soon as it is
launched -- one worker is launched ahead while every slot is busy -- and then waits for its slot;
it holds the slot while the scenario and its checks run, and gives it back the moment the verdict
is in, before it collects artifacts and tears down.  So the next scenario's bring-up overlaps the
running ones' fault holds, and a finished scenario's teardown overlaps the next one's run.

The protocol is two lines over the worker's pipes: the parent writes ``go`` on the worker's
stdin, the worker writes ``released`` on its stdout.  End of input instead of ``go`` means the
run ended before this scenario's turn (interrupted): the worker tears down without running it.
"""

from __future__ import annotations

from typing import Protocol, TextIO

from xmtpd_e2e.errors import Interrupted

__all__ = ["Slot", "PipeSlot", "GO", "RELEASED", "NOT_GIVEN"]

GO = "go"
RELEASED = "released"
NOT_GIVEN = "end of the run before its turn"
"""What a worker whose slot never came reports as its interruption."""


class Slot(Protocol):
    """A worker's turn to run its scenario: waited for after bring-up, released at the verdict."""

    def wait(self) -> None: ...

    def release(self) -> None: ...


class PipeSlot:
    """The worker's side of the protocol, over its stdin and stdout."""

    def __init__(self, given: TextIO, told: TextIO) -> None:
        self._given = given
        self._told = told
        self._released = False

    def wait(self) -> None:
        if self._given.readline().strip() != GO:
            raise Interrupted(NOT_GIVEN)

    def release(self) -> None:
        """Idempotent: the runner releases at the verdict, and again (a no-op) on any early exit."""
        if self._released:
            return
        self._released = True
        try:
            self._told.write(f"\n{RELEASED}\n")  # on a line of its own, whatever a scenario printed
            self._told.flush()
        except OSError:  # the parent is gone; teardown goes on regardless
            pass
