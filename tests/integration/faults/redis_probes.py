"""Probing Redis from the host: whether it answers a PING."""

from __future__ import annotations

import socket

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.kinds.redis import REDIS_ALIAS

__all__ = ["redis_answers"]


def redis_answers(env: Environment) -> bool:
    service = env.runtime.services()[REDIS_ALIAS]
    try:
        host, port = service.host_address(service.spec.ports[0])
        with socket.create_connection((host, port), timeout=3) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except (OSError, E2EError):  # not running: no published port to reach
        return False
