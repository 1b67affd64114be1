"""The database faults of an environment, as ``env.database_faults``.

Shortcuts to the registry kinds of :mod:`xmtpd_e2e.faults.kinds.database` (each returns the
:class:`~xmtpd_e2e.faults.controller.Fault`, healed by ``fault.heal()`` or ``env.heal()``), plus
:meth:`DatabaseFaults.terminate_connections`, which is an instant, not a fault that lasts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xmtpd_e2e.faults.controller import Fault
from xmtpd_e2e.faults.database import terminate_backends
from xmtpd_e2e.faults.kinds.database import database_target

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["DatabaseFaults"]


class DatabaseFaults:
    """See module docstring."""

    def __init__(self, env: Environment) -> None:
        self._env = env

    def terminate_connections(self, node: int | NodeHandle) -> int:
        """End every session the node has on its database now (``pg_terminate_backend``); returns
        how many.  An instant on the timeline: nothing stops the node from dialling again."""
        handle = self._env.node(node) if isinstance(node, int) else node
        pids = terminate_backends(database_target(handle).admin_dsn, handle.db_name)
        self._env.timeline.instant("fault", "database-sessions-terminated", (handle.alias,), sessions=len(pids))
        self._env.log.info("terminated %d database sessions of %s", len(pids), handle.alias)
        return len(pids)

    def refuse_connections(self, node: int | NodeHandle) -> Fault:
        """The node's database refuses it (and the framework's observer of it) until healed."""
        return self._env.faults.apply("database-refused", on=node)

    def slow_path(self, node: int | NodeHandle, latency_ms: int) -> Fault:
        """Every response on the node's database connections ``latency_ms`` late."""
        return self._env.faults.apply("database-slow", on=node, latency_ms=latency_ms)

    def fill_disk(self, node: int | NodeHandle) -> Fault:
        """The node's database on a filesystem with no space left, until healed."""
        return self._env.faults.apply("database-disk-full", on=node)

    def crash_server(self) -> Fault:
        """SIGKILL the environment's own Postgres server mid-write; healing restarts it."""
        return self._env.faults.apply("database-crash")
