"""A small real service for the runtime contract: redis-server, on every runtime.

Redis fits because it shows each promise from the outside: it logs a ready line, answers PING,
logs ``Received SIGTERM`` only when asked to stop (never on SIGKILL), keeps data in its working
directory (append-only file), replicates from another Redis (service-to-service reachability)
and can be told to exit by itself (a crash, as far as the runtime can tell).
"""

from __future__ import annotations

import socket

from xmtpd_e2e.runtime.base import RunningService, Runtime, ServiceSpec

__all__ = ["REDIS_PORT", "READY_LINE", "SIGTERM_LINE", "redis_spec", "redis_call", "answers_ping"]

REDIS_PORT = 6379
READY_LINE = "Ready to accept connections"
SIGTERM_LINE = "Received SIGTERM"


def redis_call(address: tuple[str, int], *args: str, timeout: float = 5.0) -> str:
    """Send one command (RESP) and return the reply's first chunk as text."""
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection(address, timeout=timeout) as connection:
        connection.sendall(payload.encode())
        return connection.recv(65536).decode(errors="replace")


def answers_ping(service: RunningService) -> bool:
    return redis_call(service.host_address(service.spec.ports[0]), "PING", timeout=2).startswith("+PONG")


def redis_spec(runtime: Runtime, image: str, name: str, *extra: str, ready_timeout: float = 30) -> ServiceSpec:
    """Redis keeping an append-only file in its working directory, fsynced on every write."""
    port = runtime.listen_port(name, REDIS_PORT)
    args = (
        "--port",
        str(port),
        "--bind",
        runtime.bind_address,
        "--protected-mode",
        "no",
        "--save",
        "",
        "--dir",
        ".",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        *extra,
    )
    return ServiceSpec(
        name=name,
        role="contract",
        image=image,
        command=("redis-server", *args),
        ports=(port,),
        ready_log=READY_LINE,
        ready_check=answers_ping,
        ready_timeout=ready_timeout,
    )
