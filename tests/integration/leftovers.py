"""What of a run still exists on the system, found without the run's own record.

Used by the tests that promise "nothing left behind": processes carrying the run marker (or
working inside the run's directory), Docker containers and networks labelled with the run id,
Postgres databases named after it, and the run's directories.
"""

from __future__ import annotations

from pathlib import Path

import docker
import psycopg

from xmtpd_e2e.runtime.netns import links_of_run, namespaces_of_run
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.labels import RUN as RUN_LABEL
from xmtpd_e2e.runtime.processes import processes_of_run

__all__ = ["system_leftovers"]


def system_leftovers(run_id: str, home: Path, postgres_dsn: str | None = None) -> dict[str, list[str]]:
    """Every kind of thing of ``run_id`` still present, by kind; empty when nothing is left."""
    found: dict[str, list[str]] = {"processes": [str(pid) for pid in processes_of_run(run_id)]}
    found["directories"] = [str(p) for p in RunState.directory(home).glob(f"{run_id}*") if p.is_dir()]
    found["namespaces"] = namespaces_of_run(run_id)
    found["links"] = links_of_run(run_id)
    if postgres_dsn is not None:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"e2e_{run_id}%",)).fetchall()
        found["databases"] = [row[0] for row in rows]
    client = docker.from_env()
    try:
        label = {"label": f"{RUN_LABEL}={run_id}"}
        found["containers"] = [c.name for c in client.containers.list(all=True, filters=label)]
        found["networks"] = [n.name for n in client.networks.list(filters=label)]
    finally:
        client.close()
    return {kind: items for kind, items in found.items() if items}
