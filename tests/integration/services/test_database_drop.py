"""Teardown drops a node's database even while a ``CREATE DATABASE`` for it is still running.

A node killed in the middle of creating its database leaves a backend that finishes the
creation after the client is gone.  To hold a creation in flight on purpose, it copies a template
database that another session is connected to: Postgres then waits (up to 5 s) for that session
to leave before it copies.  The drop runs during that wait; the template's session leaves right
after, so a creation that survived the drop completes and the database appears.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.services.postgres import drop_database, dsn_with

ADMIN_DSN = RunConfig().postgres_dsn


def _database_exists(name: str) -> bool:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _creation_running(name: str) -> bool:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s",
            (f"CREATE DATABASE%{name}%",),
        ).fetchone()
    return row is not None and row[0] > 0


def _force_drop(name: str) -> None:
    """The test's own clean-up, independent of the drop under test."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def template() -> Iterator[str]:
    name = f"e2e_droptest_{os.getpid()}_template"
    _force_drop(name)
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    _force_drop(name)


def test_a_creation_in_flight_does_not_outlive_the_drop(template: str) -> None:
    name = f"e2e_droptest_{os.getpid()}_node"
    outcome: list[BaseException | None] = []

    def create() -> None:
        try:
            with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            outcome.append(None)
        except psycopg.Error as error:
            outcome.append(error)

    holder = psycopg.connect(dsn_with(ADMIN_DSN, database=template), autocommit=True)
    creator = threading.Thread(target=create, daemon=True)
    try:
        creator.start()
        deadline = time.monotonic() + 3
        while not _creation_running(name):
            assert time.monotonic() < deadline, "CREATE DATABASE never started"
            time.sleep(0.05)

        drop_database(ADMIN_DSN, name)

        holder.close()  # the template is free: a creation still alive copies it now
        creator.join(timeout=30)
        assert not creator.is_alive()
        assert outcome and isinstance(outcome[0], psycopg.Error), "the creation should have been stopped"
        assert not _database_exists(name)
    finally:
        holder.close()
        creator.join(timeout=30)
        _force_drop(name)
