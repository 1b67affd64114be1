"""Per-node databases on the host Postgres, namespaced by run so parallel runs never collide.

Upstream names databases ``e2e_node_100`` and drops every idle ``e2e_%`` database when an
environment starts, so two suites on one machine destroy each other's state.  Here every name
carries the run id and environment id (``e2e_r1a2b3c4_e1_node_100``), each database is recorded
in the run state before the node creates it, and only this run's databases are ever dropped.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg

from xmtpd_e2e.errors import ServiceError, SetupError
from xmtpd_e2e.record import Reclaimer, RunState

__all__ = ["Databases", "dsn_with", "check_postgres", "drop_database", "DATABASE_KIND", "DATABASES"]

DATABASE_KIND = "database"

_MAX_NAME = 32  # xmtpd's limit for XMTPD_DB_NAME_OVERRIDE
_UNSAFE = re.compile(r"[^a-z0-9_]")
_DROP_ATTEMPTS = 20
_DROP_SETTLE_S = 0.1


def dsn_with(dsn: str, *, host: str | None = None, database: str | None = None, port: int | None = None) -> str:
    """``dsn`` with its host, port and/or database replaced (user, options kept)."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if host is not None or port is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        old_host, _, old_port = hostport.rpartition(":")
        new = f"{host or old_host}:{port or old_port}"
        netloc = f"{userinfo}@{new}" if userinfo else new
    path = f"/{database}" if database is not None else parts.path
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


def check_postgres(dsn: str) -> None:
    """Fail with a clear SetupError when the admin DSN does not accept connections."""
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        raise SetupError(
            f"Postgres is not reachable at {urlsplit(dsn).hostname}:{urlsplit(dsn).port} "
            f"({str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r})",
            "start it with `xmtpd-e2e infra install` (or `xmtpd-e2e infra up`), or point "
            "XMTPD_E2E_POSTGRES_DSN at a server where user postgres may CREATE DATABASE",
        ) from exc


class Databases:
    """Creates names for, resets and drops the databases of one environment."""

    def __init__(self, admin_dsn: str, run_state: RunState, env_id: str, *, disposable: bool = False) -> None:
        """``disposable``: the server goes away with the environment (the kubernetes runtime's),
        so its databases are neither recorded for cleanup nor dropped one by one."""
        self.admin_dsn = admin_dsn
        self._disposable = disposable
        self._state = run_state
        self._prefix = f"e2e_{run_state.run_id}_{env_id}_"
        self._names: list[str] = []
        self._lock = threading.Lock()

    @property
    def disposable(self) -> bool:
        return self._disposable

    def name_for(self, alias: str) -> str:
        """A valid, run-unique database name for a service alias such as ``node-100``."""
        name = self._prefix + _UNSAFE.sub("_", alias.lower())
        if len(name) > _MAX_NAME:
            raise SetupError(
                f"database name {name!r} is longer than xmtpd's {_MAX_NAME}-character limit",
                "use a shorter alias",
            )
        return name

    def reset(self, name: str) -> None:
        """Record ``name`` as ours and make sure it does not exist (the node creates it)."""
        with self._lock:
            if name not in self._names:
                self._names.append(name)
        if not self._disposable:
            self._state.record(DATABASE_KIND, name, dsn=self.admin_dsn)
        self._drop(name)

    def create_from(self, name: str, template: str) -> bool:
        """Create ``name`` (already :meth:`reset`) as a copy of ``template``; False if that
        failed (the node then creates and migrates its database itself)."""
        try:
            with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        except psycopg.Error:
            return False
        return True

    def drop_all(self) -> None:
        if self._disposable:
            return
        with self._lock:
            names = list(self._names)
        first: BaseException | None = None
        for name in names:
            try:
                self._drop(name)
                self._state.forget(DATABASE_KIND, name)
                with self._lock:
                    self._names.remove(name)
            except BaseException as exc:
                first = first or exc
        if first is not None:
            raise first

    def _drop(self, name: str) -> None:
        drop_database(self.admin_dsn, name)


def drop_database(admin_dsn: str, name: str) -> None:
    """Drop ``name``, including a creation still under way.

    A node creates its own database.  Killed while doing so, it leaves a backend that still runs
    its ``CREATE DATABASE`` (the server reads a query already sent even after the client died),
    and a plain ``DROP ... IF EXISTS`` finds nothing yet and lets the creation finish after it.
    So backends whose query names the database are terminated first (which rolls a creation
    back), and the drop is repeated until no backend names it and it does not exist.
    """
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        for attempt in range(_DROP_ATTEMPTS):
            if attempt:
                time.sleep(_DROP_SETTLE_S)  # terminated backends leave asynchronously
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND position(%s in query) > 0",
                (name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            busy = conn.execute(
                "SELECT (SELECT count(*) FROM pg_stat_activity"
                "        WHERE pid <> pg_backend_pid() AND position(%s in query) > 0)"
                "     + (SELECT count(*) FROM pg_database WHERE datname = %s)",
                (name, name),
            ).fetchone()
            if busy is not None and busy[0] == 0:
                return
    raise ServiceError(f"database {name} kept coming back after {_DROP_ATTEMPTS} drops")


def _remove_databases(state: RunState, logger: logging.Logger) -> list[str]:
    problems: list[str] = []
    for resource in state.resources(DATABASE_KIND):
        try:
            drop_database(str(resource.details["dsn"]), resource.ident)
            state.forget(DATABASE_KIND, resource.ident)
        except Exception as error:
            problems.append(f"database {resource.ident}: {error}")
    return problems


DATABASES = Reclaimer((DATABASE_KIND,), _remove_databases, order=50)
"""The run's node databases on the host Postgres, dropped by name from the record."""
