"""Faults in a node's database: refused, slow, out of disk space, and the server crashed.

Mechanisms: :mod:`xmtpd_e2e.faults.database` (sessions, refusal),
:mod:`xmtpd_e2e.faults.database_path` (the slow path), :mod:`xmtpd_e2e.faults.database_disk`
(disk full), :mod:`xmtpd_e2e.services.postgres_server` (the crash).  Each node has a database of
its own, so these hit one node; the crash hits every node of an environment that runs its own
server (``env.use_durable_postgres()``).  All of them live outside the node's process, so they
outlive a restart of the node with no window (the slow path's redirect is in the namespace that
holds the node's faults, checked and re-installed like any rule there).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import psycopg

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.capabilities import register_capability
from xmtpd_e2e.faults.controller import Piece
from xmtpd_e2e.faults.database import ConnectionsRefused, DatabaseTarget, terminate_backends
from xmtpd_e2e.faults.database_disk import DiskFull
from xmtpd_e2e.faults.registry import FaultKind, FaultPlan, Param, register
from xmtpd_e2e.faults.steered_path import SlowPathKind
from xmtpd_e2e.runtime.base import Runtime
from xmtpd_e2e.services.postgres import dsn_with

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["DatabaseRefused", "DatabaseSlow", "DatabaseDiskFull", "DatabaseCrash", "database_target", "HOST_DATABASE"]

HOST_DATABASE = "host-database"
"""The nodes' databases are on a Postgres server whose files are on this machine (the host's
server, or an environment's own), and this runner may mount a filesystem."""


def _own_postgres_pod(runtime: Runtime) -> bool:
    """The runtime runs a Postgres of its own per environment (a pod on kubernetes)."""
    return type(runtime).postgres is not Runtime.postgres


def _host_database(runtime: Runtime) -> str | None:
    if _own_postgres_pod(runtime):
        return (
            f"the {runtime.name} runtime keeps each environment's databases in a Postgres of its own (a pod), "
            "whose files are not on this machine"
        )
    done = subprocess.run(
        ["unshare", "--mount", "mount", "-t", "tmpfs", "-o", "size=1m", "none", "/mnt"],
        capture_output=True,
        text=True,
        check=False,
        timeout=15,
    )
    if done.returncode != 0:
        return (
            f"this runner cannot mount a size-limited tmpfs: {(done.stderr or done.stdout).strip()[:200]} (run as root)"
        )
    return None


register_capability(HOST_DATABASE, _host_database)


def database_target(node: NodeHandle) -> DatabaseTarget:
    """The node's database, with a superuser DSN on its server (the observer's, on ``postgres``)."""
    return DatabaseTarget(dsn_with(node.db_connection_string, database="postgres"), node.db_name, node.alias)


def _node(faults: EnvironmentFaults, params: Mapping[str, Any]) -> NodeHandle:
    from xmtpd_e2e.api.node_handle import NodeHandle

    handle = faults.handle(params["on"])
    if not isinstance(handle, NodeHandle):
        raise E2EError(f"{handle.alias} is not a node; database faults act on a node's database")
    return handle


def _ignore(value: object) -> None:
    """For callbacks that return nothing."""


def _allows_connections(target: DatabaseTarget) -> bool:
    with psycopg.connect(target.admin_dsn, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT datallowconn FROM pg_database WHERE datname = %s", (target.name,)).fetchone()
    return bool(row[0]) if row else True


@register
class DatabaseRefused(FaultKind):
    name = "database-refused"
    description = (
        "the node's database refuses it: its sessions terminated (pg_terminate_backend), new ones refused "
        "(ALLOW_CONNECTIONS false), until healed"
    )
    params = (Param("on", object, "the node"),)
    stops_service = True

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        handle = _node(faults, params)
        target = database_target(handle)
        refused = ConnectionsRefused(target)
        piece = Piece(
            refused.describe(),
            refused.install,
            refused.remove,
            handle.alias,
            present=lambda: not _allows_connections(target),
        )
        return FaultPlan([piece], (handle.alias,), {"database": target.name})


@register
class DatabaseSlow(SlowPathKind):
    name = "database-slow"
    description = (
        "every response on the node's database connections late by latency_ms: its connections steered "
        "(DNAT in its namespace) through a toxiproxy proxy of their own"
    )
    what, tag, latency_draws = "database", "DBPATH", (50, 200, 1000)

    def destination(self, faults: EnvironmentFaults) -> tuple[str, int]:
        return faults.database_endpoint()

    def reset(self, faults: EnvironmentFaults, node: NodeHandle, destination: tuple[str, int]) -> Callable[[str], None]:
        target = database_target(node)
        return lambda namespace: _ignore(terminate_backends(target.admin_dsn, target.name))


@register
class DatabaseDiskFull(FaultKind):
    name = "database-disk-full"
    description = (
        "the node's database moved onto a tiny tmpfs tablespace which is then filled: writes needing a new "
        "page fail with 'No space left on device'; moving it (apply and heal) cuts its sessions once"
    )
    params = (Param("on", object, "the node"),)
    needs = frozenset({HOST_DATABASE})
    stops_service = True

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        handle = _node(faults, params)
        full = DiskFull(database_target(handle), faults.env.run_state)
        piece = Piece(full.describe(), full.install, full.remove, handle.alias, present=full.in_force)
        return FaultPlan([piece], (handle.alias,), {"tablespace": full.tablespace})


@register
class DatabaseCrash(FaultKind):
    name = "database-crash"
    description = (
        "the environment's own Postgres server (env.use_durable_postgres()) and every backend SIGKILLed at "
        "once; healing starts it again (crash recovery)"
    )
    params = ()
    roles = frozenset({"database"})
    needs = frozenset({HOST_DATABASE})
    explore = False

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        env = faults.env
        server = env.durable_postgres
        if server is None:
            raise E2EError(
                "database-crash needs the environment's own Postgres server: call env.use_durable_postgres() "
                "before adding nodes (the shared server serves every other run on this machine)"
            )
        piece = Piece(f"Postgres server on port {server.port}: SIGKILL", server.crash, server.start, "database")
        targets = tuple(node.alias for node in env.nodes()) or ("database",)
        return FaultPlan([piece], targets, {"port": server.port}, label="database server crashed")
