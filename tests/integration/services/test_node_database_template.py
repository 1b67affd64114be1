"""The migrated template nodes start from: made once, checked before use, never half-used."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import psycopg
import pytest

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.base import NodeMigrator
from xmtpd_e2e.services.node_database_template import TEMPLATE_PREFIX, NodeDatabaseTemplate, template_name
from xmtpd_e2e.services.postgres import Databases, dsn_with

ADMIN_DSN = RunConfig().postgres_dsn
UNREACHABLE_DSN = "postgres://postgres:xmtp@127.0.0.1:1/postgres?sslmode=disable"


def _execute(sql: str, database: str | None = None) -> list[tuple[object, ...]]:
    dsn = dsn_with(ADMIN_DSN, database=database) if database else ADMIN_DSN
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return list(cursor.fetchall()) if cursor.description else []


def _drop(name: str) -> None:
    _execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class FakeMigration:
    """Does what a node build does to its database, or one of the ways that can go wrong."""

    def __init__(self, *, dirty: bool = False, identity: bool = False, create: bool = True, pause: float = 0) -> None:
        self.dirty, self.identity, self.create, self.pause = dirty, identity, create, pause
        self.runs: list[Mapping[str, str]] = []

    def __call__(self, variables: Mapping[str, str]) -> None:
        self.runs.append(dict(variables))
        time.sleep(self.pause)
        if not self.create:
            return
        name = variables["XMTPD_DB_NAME_OVERRIDE"]
        _execute(f'CREATE DATABASE "{name}"')
        _execute("CREATE TABLE schema_migrations (version bigint, dirty boolean)", name)
        _execute(f"INSERT INTO schema_migrations VALUES (19, {str(self.dirty).lower()})", name)
        _execute("CREATE TABLE node_info (node_id int)", name)
        if self.identity:
            _execute("INSERT INTO node_info VALUES (100)", name)


@pytest.fixture()
def build() -> Iterator[str]:
    build = f"test-build-{os.getpid()}-{time.monotonic_ns()}"
    yield build
    _drop(template_name(build))


def _template(build: str, migration: FakeMigration) -> NodeDatabaseTemplate:
    return NodeDatabaseTemplate(
        ADMIN_DSN, NodeMigrator(build, migration, on_host=True), {"XMTPD_X": "1"}, logging.getLogger("test.template")
    )


def test_the_template_is_made_once_closed_to_connections_and_copied(build: str, tmp_path: Path) -> None:
    migration = FakeMigration()
    name = _template(build, migration).ensure()
    assert name == template_name(build)
    assert _execute(f"SELECT datallowconn FROM pg_database WHERE datname = '{name}'") == [(False,)]
    assert _template(build, migration).ensure() == name
    assert len(migration.runs) == 1, "a ready template is not made again"
    run = migration.runs[0]
    assert run["XMTPD_DB_NAME_OVERRIDE"] == name and run["XMTPD_X"] == "1"
    assert run["XMTPD_SIGNER_PRIVATE_KEY"].startswith("0x"), "the build runs under a key no node registered"

    databases = Databases(ADMIN_DSN, RunState.create(tmp_path / "home"), "e1")
    copy = databases.name_for("node-100")
    databases.reset(copy)
    try:
        assert databases.create_from(copy, name)
        assert _execute("SELECT version, dirty FROM schema_migrations", copy) == [(19, False)]
    finally:
        databases.drop_all()


@pytest.mark.parametrize(
    "migration",
    [FakeMigration(dirty=True), FakeMigration(identity=True), FakeMigration(create=False)],
    ids=["dirty", "holds-an-identity", "never-created"],
)
def test_a_database_that_is_no_clean_template_is_not_used_and_not_left(
    build: str, migration: FakeMigration, caplog: pytest.LogCaptureFixture
) -> None:
    assert _template(build, migration).ensure() is None
    assert "nodes migrate their own databases" in caplog.text
    assert _execute(f"SELECT 1 FROM pg_database WHERE datname = '{template_name(build)}'") == []


def test_processes_making_the_same_template_take_turns(build: str) -> None:
    migration = FakeMigration(pause=0.5)
    names: list[str | None] = []
    threads = [threading.Thread(target=lambda: names.append(_template(build, migration).ensure())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert names == [template_name(build)] * 3
    assert len(migration.runs) == 1


def test_nodes_start_on_copies_of_their_build_s_template_where_databases_are_shared(any_env: Environment) -> None:
    """local and docker: the shared server holds the template; kubernetes: each environment has a
    Postgres of its own, gone with it, and every node migrates its own database."""
    node = any_env.add_node()
    made = [e for e in any_env.timeline.events("phase") if e.name == "node_database_template"]
    if any_env.runtime.name == "kubernetes":
        assert made == []
    else:
        assert len(made) == 1
        templates = _execute("SELECT datname FROM pg_database WHERE datname LIKE 'e2e_template_%' AND NOT datallowconn")
        assert templates, "the node build's migrated template exists and is closed to connections"
    any_env.new_client(node.id).publish_envelopes(3)
    node.wait_for_envelopes(3, client_only=True)


def test_cleanup_templates_drops_every_build_s_template_and_says_so(build: str, tmp_path: Path) -> None:
    name = _template(build, FakeMigration()).ensure()
    assert name is not None
    result = subprocess.run(
        [sys.executable, "-m", "xmtpd_e2e.cli.main", "cleanup", "--templates"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "XMTPD_E2E_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 0, result.stderr
    assert name in result.stderr and "node-database template(s)" in result.stderr, result.stderr
    assert _execute(f"SELECT datname FROM pg_database WHERE starts_with(datname, '{TEMPLATE_PREFIX}')") == []


def test_cleanup_templates_without_postgres_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "xmtpd_e2e.cli.main", "cleanup", "--templates", "--postgres-dsn", UNREACHABLE_DSN],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "XMTPD_E2E_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 1, result.stderr
    assert "node-database templates not dropped" in result.stderr and "fix:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
