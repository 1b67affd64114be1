"""A database xmtpd has migrated, made once per xmtpd build and cloned for every node.

A node started on an empty database creates it and runs xmtpd's migrations (v1.2.0: 19 of
them, about 0.25 CPU-s between the node and Postgres, and the same again for every node of every
scenario).  The result does not depend on the node: so the first node of a build on a Postgres
server lets that build migrate a database of its own, ``e2e_template_<build hash>``, and every
node after it gets ``CREATE DATABASE ... TEMPLATE`` (a file copy: about 0.1 CPU-s).  The node
still runs its migrations on start, finds them applied, and writes its own identity as usual.

The template is made by xmtpd itself: its node binary is run once with a signer key that no node
registered, against the environment's chain; it creates the database, migrates it, and exits
when it finds its key missing from the registry ("no matching public key found in registry").
The template is used only when exactly one migration version is recorded, not dirty, and the
node identity table is empty; it is then closed to connections, which marks it ready and keeps
a clone from ever finding it in use (the framework connects as a superuser, which may copy any
database).  Anything else -- a build that cannot be run that way, a newer
xmtpd that behaves differently -- is logged once and nodes migrate their own databases, as
before.  Processes making the same template take turns on a Postgres advisory lock.

Templates outlive runs (they are a cache, a few MB each, named for the build, not a run): the
project's Postgres cluster lives in memory and goes with a reboot, or ``DROP DATABASE`` them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

import psycopg

from xmtpd_e2e.runtime.base import NodeMigrator
from xmtpd_e2e.services.postgres import dsn_with

__all__ = ["NodeDatabaseTemplate", "TEMPLATE_PREFIX", "template_name", "drop_templates"]

TEMPLATE_PREFIX = "e2e_template_"
_UNREGISTERED_KEY = "0x" + "11" * 32
"""A signer key no scenario registers: the node stops right after migrating its database."""


def template_name(build: str) -> str:
    return TEMPLATE_PREFIX + hashlib.sha256(build.encode()).hexdigest()[:16]


def drop_templates(admin_dsn: str) -> list[str]:
    """Drop every build's template on the server (each under the lock its maker takes, so none is
    dropped while being made); the names dropped.  The next run makes its build's anew."""
    dropped = []
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname", (TEMPLATE_PREFIX,)
        ).fetchall()
        for (name,) in rows:
            admin.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            finally:
                admin.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
            dropped.append(str(name))
    return dropped


class NodeDatabaseTemplate:
    """One build's template on one Postgres server, made on first use (module docstring)."""

    def __init__(
        self, admin_dsn: str, migrator: NodeMigrator, node_env: Mapping[str, str], logger: logging.Logger
    ) -> None:
        """``node_env``: a node's variables reaching this server's admin DSN and the chain from
        where the migrator runs; the database and the key are set here."""
        self.admin_dsn = admin_dsn
        self.name = template_name(migrator.build)
        self._migrator = migrator
        self._node_env = dict(node_env)
        self._log = logger

    def ensure(self) -> str | None:
        """The template's name, making it if needed; None if it cannot be made (logged)."""
        try:
            with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10) as admin:
                if self._ready(admin):
                    return self.name
                admin.execute("SELECT pg_advisory_lock(hashtext(%s))", (self.name,))
                try:
                    if not self._ready(admin):
                        self._make(admin)
                finally:
                    admin.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self.name,))
        except (psycopg.Error, OSError, TemplateRefused) as error:
            self._log.warning("nodes migrate their own databases: no migrated template (%s)", error)
            return None
        self._log.info("nodes start on copies of %s, migrated by this xmtpd build", self.name)
        return self.name

    def _ready(self, admin: psycopg.Connection[tuple[object, ...]]) -> bool:
        row = admin.execute("SELECT NOT datallowconn FROM pg_database WHERE datname = %s", (self.name,)).fetchone()
        return bool(row and row[0])

    def _make(self, admin: psycopg.Connection[tuple[object, ...]]) -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')  # a half-made one
        self._migrator.run(
            {
                **self._node_env,
                "XMTPD_SIGNER_PRIVATE_KEY": _UNREGISTERED_KEY,
                "XMTPD_DB_NAME_OVERRIDE": self.name,
            }
        )
        try:
            self._check_migrated()
        except BaseException:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            raise
        admin.execute(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false')

    def _check_migrated(self) -> None:
        try:
            with psycopg.connect(dsn_with(self.admin_dsn, database=self.name), connect_timeout=10) as conn:
                versions = conn.execute("SELECT version, dirty FROM schema_migrations").fetchall()
                identities = conn.execute("SELECT count(*) FROM node_info").fetchone()
        except psycopg.Error as error:
            raise TemplateRefused(f"the build did not migrate {self.name}: {error}".strip()) from error
        if len(versions) != 1 or versions[0][1]:
            raise TemplateRefused(f"{self.name} is not cleanly migrated (schema_migrations: {versions})")
        if identities is None or identities[0] != 0:
            raise TemplateRefused(f"{self.name} holds a node identity; it is no template")


class TemplateRefused(Exception):
    """The build's database is no clean template (see its message)."""
