"""Faults a node meets in its own database: connections cut, connections refused, disk full.

Every node has a database of its own on a Postgres server it shares with the other nodes of its
environment (the host's server on local and docker, a pod on kubernetes).  These faults act on
that one database from the server's side, so only that node is hit:

* :func:`terminate_backends` -- ``pg_terminate_backend`` on every session of the database: what a
  node sees when Postgres restarts, fails over, or an administrator kills its sessions.  xmtpd's
  pgx pool has to notice and dial again.
* :class:`ConnectionsRefused` -- ``ALTER DATABASE ... ALLOW_CONNECTIONS false`` plus the above:
  the database stays unreachable for that node (every new session is refused with
  ``database ... is not currently accepting connections``) until healed.  Even a superuser is
  refused, so the framework's own observer of that node fails too while it lasts.
* :class:`DiskFull` (:mod:`xmtpd_e2e.faults.database_disk`) -- the database's files on a tiny
  filesystem that is then filled.

Each installs idempotently: installing again after the node restarted changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from xmtpd_e2e.errors import ServiceError
from xmtpd_e2e.polling import wait_until

__all__ = [
    "terminate_backends",
    "backend_pids",
    "ConnectionsRefused",
    "DatabaseTarget",
    "set_allow_connections",
    "drain_sessions",
]

SETTLE_TIMEOUT_S = 30.0
"""How long terminated sessions may take to leave (a backend exits at its next interrupt check)."""


@dataclass(frozen=True)
class DatabaseTarget:
    """One node's database as the framework reaches its server."""

    admin_dsn: str
    """A superuser DSN on the server (any database but ``name``)."""
    name: str
    alias: str
    """The node the database belongs to (``node-100``), for messages."""


def _connect(admin_dsn: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10)


def backend_pids(admin_dsn: str, database: str) -> set[int]:
    """Process ids of every session on ``database`` (the node's pool and any observer)."""
    with _connect(admin_dsn) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
        ).fetchall()
    return {int(row[0]) for row in rows}


def terminate_backends(admin_dsn: str, database: str) -> set[int]:
    """Terminate every session on ``database`` now; returns the pids that were terminated.

    The sessions end at once (in-flight statements fail with ``terminating connection due to
    administrator command``, SQLSTATE 57P01); nothing stops the node from dialling again.
    """
    with _connect(admin_dsn) as conn:
        rows = conn.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return {int(row[0]) for row in rows if row[1]}


def set_allow_connections(admin_dsn: str, database: str, allow: bool) -> None:
    with _connect(admin_dsn) as conn:
        conn.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {"true" if allow else "false"}')


def drain_sessions(target: DatabaseTarget) -> None:
    """Terminate the database's sessions until none is left (new ones must be refused by now)."""

    def terminate_and_count() -> set[int]:
        terminate_backends(target.admin_dsn, target.name)
        return backend_pids(target.admin_dsn, target.name)

    wait_until(
        terminate_and_count,
        lambda pids: not pids,
        timeout=SETTLE_TIMEOUT_S,
        description=f"every session on {target.alias}'s database {target.name} to end",
        detail=lambda pids: f"sessions still there: {sorted(pids)}",
    )


class ConnectionsRefused:
    """The node's database refuses it: sessions ended, new ones refused, until :meth:`remove`."""

    def __init__(self, target: DatabaseTarget) -> None:
        self.target = target

    def describe(self) -> str:
        return f"{self.target.alias}: database {self.target.name} refuses connections, its sessions terminated"

    def install(self) -> None:
        set_allow_connections(self.target.admin_dsn, self.target.name, False)
        drain_sessions(self.target)

    def remove(self) -> None:
        try:
            set_allow_connections(self.target.admin_dsn, self.target.name, True)
        except psycopg.errors.InvalidCatalogName:
            return  # the database was dropped meanwhile (environment closing): nothing to restore
        except psycopg.Error as error:
            raise ServiceError(f"could not let {self.target.alias} into its database again: {error}") from error
