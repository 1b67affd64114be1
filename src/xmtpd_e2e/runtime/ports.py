"""Free loopback ports for the local runtime.

All local services share the host's network namespace, so every listener needs its own port.
Ports are found by binding port 0 and releasing it; the allocator remembers what it handed out so
two services of one environment never get the same port even if the kernel would reuse it.
"""

from __future__ import annotations

import socket
import threading

__all__ = ["PortAllocator", "port_is_free"]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class PortAllocator:
    """Hands out distinct free loopback ports; thread-safe."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._given: set[int] = set()
        self._lock = threading.Lock()

    def allocate(self) -> int:
        with self._lock:
            for _ in range(100):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind((self._host, 0))
                    port = int(sock.getsockname()[1])
                if port not in self._given:
                    self._given.add(port)
                    return port
        raise OSError("no free loopback port found after 100 attempts")
