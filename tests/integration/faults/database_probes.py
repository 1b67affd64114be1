"""Probing a node's database from outside the node: the way to it from the node's namespace,
whether the server lets anyone into it, whether it can still write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.faults.kinds.database import database_target

__all__ = ["database_round_trip", "refuses_sessions", "cannot_write"]

_SSL_REQUEST = """
import socket, sys, time
began = time.monotonic()
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as s:
    s.sendall(bytes.fromhex("0000000804d2162f"))  # SSLRequest: the server answers one byte
    s.recv(1)
print(time.monotonic() - began)
"""


def _reachable_address(env: Environment, node: NodeHandle) -> tuple[str, int]:
    """The database's address and port as the node dials them; a name (docker's
    ``host.docker.internal``) is resolved through the node's own /etc/hosts."""
    host, port = env.faults.database_endpoint()
    if host.replace(".", "").isdigit():
        return host, port
    namespace = node.service.network_namespace()
    assert namespace is not None
    hosts = Path(str(namespace).replace("/ns/net", "/root/etc/hosts")).read_text()
    for line in hosts.splitlines():
        fields = line.split()
        if host in fields[1:]:
            return fields[0], port
    service = env.runtime.services().get(host)  # kubernetes: the environment's Postgres pod, by DNS
    address = service.network_address() if service is not None else None
    assert address is not None, f"{host} is neither in {node.alias}'s /etc/hosts nor a service with an address"
    return address, port


def database_round_trip(env: Environment, node: NodeHandle) -> float:
    """Seconds for one request/answer with the node's database server, from the node's namespace
    (so through whatever path the node's own connections take)."""
    namespace = node.service.network_namespace()
    assert namespace is not None
    host, port = _reachable_address(env, node)
    done = subprocess.run(
        ["nsenter", f"--net={namespace}", sys.executable, "-c", _SSL_REQUEST, host, str(port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip())


def refuses_sessions(node: NodeHandle) -> bool:
    """Whether a superuser session on the node's database is refused."""
    try:
        with psycopg.connect(node.db_connection_string, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        return "not currently accepting connections" in str(error)
    return False


def cannot_write(node: NodeHandle) -> bool:
    """Whether the node's database fails a write of ~3 MB for lack of space (or cannot even set up
    a session, which on a full disk fails writing its cache file)."""
    try:
        with psycopg.connect(node.db_connection_string, connect_timeout=10, autocommit=True) as conn:
            conn.execute(
                "CREATE TEMP TABLE e2e_space_probe AS SELECT repeat('x', 1000) AS x FROM generate_series(1, 3000)"
            )
    except psycopg.errors.DiskFull:
        return True
    except psycopg.OperationalError as error:
        return "could not write init file" in str(error) or "No space left" in str(error)
    return False


def server_down(env: Environment) -> bool:
    """Whether the environment's Postgres server refuses every connection."""
    node = env.nodes()[0]
    try:
        with psycopg.connect(database_target(node).admin_dsn, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False
