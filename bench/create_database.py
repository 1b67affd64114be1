"""Benchmark: ``CREATE DATABASE`` on disk and on tmpfs, after a suite's create/drop churn.

Every node of every scenario gets a database created and, at teardown, dropped.  This starts two
scratch Postgres clusters with the project's settings (fsync off) -- one in a directory on disk,
one in /dev/shm -- creates and drops ``--churn`` databases in each (a fast suite makes ~60), then
times ``--repeat`` more creations in each.  Both clusters are removed afterwards.

    .venv/bin/python bench/create_database.py --disk-dir /var/tmp --churn 60 --repeat 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from recording import save, summarize

from xmtpd_e2e.infra.postgres_cluster import _pg_bin

_SETTINGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB"


def _as_postgres(argv: list[str]) -> None:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    subprocess.run(argv, check=True, capture_output=True)


def measure(parent: Path, port: int, churn: int, repeat: int) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="xmtpd-e2e-createdb-", dir=parent))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    data = directory / "data"
    _as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"])
    options = f"{_SETTINGS} -c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={directory}"
    _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-w", "-o", options, "-l", str(directory / "log"), "start"])
    try:
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            for i in range(churn):
                conn.execute(f"CREATE DATABASE churn_{i}")
                conn.execute(f"DROP DATABASE churn_{i}")
            seconds = []
            for i in range(repeat):
                began = time.monotonic()
                conn.execute(f"CREATE DATABASE timed_{i}")
                seconds.append(time.monotonic() - began)
                conn.execute(f"DROP DATABASE timed_{i}")
    finally:
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(directory, ignore_errors=True)
    filesystem = subprocess.run(["stat", "-f", "-c", "%T", str(parent)], capture_output=True, text=True).stdout.strip()
    return {"directory": str(parent), "filesystem": filesystem, "create_seconds": summarize(seconds, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disk-dir", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--churn", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    results = [
        measure(args.disk_dir, 18765, args.churn, args.repeat),
        measure(Path("/dev/shm"), 18766, args.churn, args.repeat),
    ]
    for result in results:
        print(f"{result['filesystem']} ({result['directory']}): CREATE DATABASE {result['create_seconds']['median']} s")
    path = save(f"create-database-churn-{args.churn}", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
