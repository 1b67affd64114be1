"""Removing what a run recorded: at the end of every run, and for ``xmtpd-e2e cleanup``.

Works from the record alone (the run's process may be long gone).  The code that removes each
kind of resource lives beside the code that creates it: every registered runtime names its
reclaimers (processes, containers and networks, ...), the services layer its databases, the
record its directories.  This module only runs them in order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.record import DIRECTORIES, Reclaimer, RunState
from xmtpd_e2e.runtime.registry import RUNTIMES
from xmtpd_e2e.faults.database_disk import TABLESPACES
from xmtpd_e2e.services.postgres import DATABASES
from xmtpd_e2e.services.postgres_server import SERVERS

__all__ = ["remove_resources", "finish_run", "reclaimers", "run_record"]


def reclaimers() -> list[Reclaimer]:
    """Every known way of removing a kind of resource, in the order they must run."""
    return sorted(
        [*RUNTIMES.reclaimers(), DATABASES, TABLESPACES, SERVERS, DIRECTORIES], key=lambda reclaimer: reclaimer.order
    )


def remove_resources(state: RunState, *, logger: logging.Logger) -> list[str]:
    """Remove every resource recorded for the run; returns problems (empty = all gone)."""
    problems: list[str] = []
    known: set[str] = set()
    for reclaimer in reclaimers():
        known.update(reclaimer.kinds)
        problems += reclaimer.remove(state, logger)
    for resource in state.resources():
        if resource.kind not in known:
            problems.append(f"{resource.kind} {resource.ident}: no registered runtime knows how to remove this kind")
    return problems


def finish_run(state: RunState, *, logger: logging.Logger, search: bool = False) -> list[str]:
    """End a live run's record: remove whatever it still names, then the record itself.

    How the runner and the pytest fixture end, so a resource recorded while an environment was
    half-built, or one a failed teardown missed, is never left behind.  Only what the record names
    is searched for (a normal end has nothing else); ``xmtpd-e2e cleanup`` after a crash calls
    :func:`remove_resources` directly, which also looks for unrecorded processes and labels.
    The record stays (and problems are returned) only if something could not be removed.

    ``search``: look on the system too, as ``cleanup`` does -- for a run a signal interrupted, which
    may have started a process after the fork and before recording it.
    """
    problems: list[str] = []
    leftover = state.resources()
    if leftover:
        logger.warning(
            "removing %d resource(s) no teardown reached: %s",
            len(leftover),
            ", ".join(f"{r.kind} {r.ident}" for r in leftover),
        )
    if leftover or search:
        problems = remove_resources(state, logger=logger)
    if not state.resources():
        state.discard()
    return problems


@contextmanager
def run_record(home: Path, *, logger: logging.Logger) -> Iterator[RunState]:
    """A new run's record under ``home``, finished (:func:`finish_run`) however the block ends.

    For code that creates a record and then builds on it, as fixtures do: anything raised after
    the record exists -- creating the runtime, starting the environment -- would otherwise leave
    the record, and what it names, behind.  Raises :class:`~xmtpd_e2e.errors.E2EError` naming
    what could not be removed (the record then stays, for ``xmtpd-e2e cleanup``).
    """
    state = RunState.create(home)
    try:
        yield state
    finally:
        problems = finish_run(state, logger=logger)
        if problems:
            raise E2EError(
                f"run {state.run_id}: could not remove {'; '.join(problems)} "
                f"(run `xmtpd-e2e cleanup --run {state.run_id}`)"
            )
