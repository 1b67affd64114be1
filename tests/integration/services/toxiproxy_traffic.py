"""A real toxiproxy with busy connections through it, for toxic-removal tests and the bench.

An upstream server writes to every connection without pause and a few readers drain the proxy,
reconnecting whenever a toxic ends their connection: the traffic pattern under which toxiproxy
deadlocks if a toxic is removed from in front of a ``reset_peer`` toxic.  The controller under
test is the framework's own :class:`ChaosController`; only the runtime around toxiproxy is a
stand-in (toxiproxy runs as a plain process on loopback).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from xmtpd_e2e.infra.binaries import resolve_binary
from xmtpd_e2e.runtime.base import RunningService, Runtime, ServiceSpec, ServiceState
from xmtpd_e2e.runtime.ports import PortAllocator
from xmtpd_e2e.services.chaos import ChaosController

__all__ = ["BusyProxy", "busy_proxy"]

LOOPBACK = "127.0.0.1"


class _LoopbackService(RunningService):
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.spec = ServiceSpec(name="toxiproxy", role="chaos", image="", command=(), ports=(port,))
        self._process = process

    def host_address(self, port: int) -> tuple[str, int]:
        return LOOPBACK, port

    def state(self) -> ServiceState:
        return ServiceState.RUNNING if self._process.poll() is None else ServiceState.EXITED

    def logs(self) -> str:
        return ""

    def stop(self, *, graceful: bool = True, timeout: float = 10.0) -> None:
        self._process.kill()
        self._process.wait()

    def start(self, before_run: Callable[[], None] | None = None) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        raise NotImplementedError

    def resume(self) -> None:
        raise NotImplementedError

    def network_namespace(self) -> Path | None:
        return None


class _LoopbackRuntime(Runtime):
    """Just enough of a runtime for :meth:`ChaosController.create_proxy` on loopback."""

    name = "loopback"
    run_id = env_id = "toxic-removal"

    def __init__(self) -> None:
        self._ports = PortAllocator()

    @property
    def host_gateway(self) -> str:
        return LOOPBACK

    @property
    def bind_address(self) -> str:
        return LOOPBACK

    def listen_port(self, service: str, port: int) -> int:
        return self._ports.allocate()

    def internal_address(self, service: str, port: int) -> str:
        return f"{LOOPBACK}:{port}"

    def start(self, spec: ServiceSpec) -> RunningService:
        raise NotImplementedError

    def services(self) -> Mapping[str, RunningService]:
        return {}

    def close(self, *, fast: bool = False) -> None:
        pass


@dataclass
class BusyProxy:
    chaos: ChaosController
    proxy: str
    stop: threading.Event


def _serve_forever(listener: socket.socket, stop: threading.Event) -> None:
    def write(conn: socket.socket) -> None:
        chunk = os.urandom(4096)
        with conn:
            while not stop.is_set():
                try:
                    conn.sendall(chunk)
                except OSError:
                    return
                time.sleep(0.005)

    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=write, args=(conn,), daemon=True).start()


def _read_forever(port: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with socket.create_connection((LOOPBACK, port), timeout=2) as conn:
                while not stop.is_set() and conn.recv(65536):
                    pass
        except OSError:
            time.sleep(0.05)


def _wait_for_api(url: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            requests.get(url + "/version", timeout=1)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def busy_proxy(readers: int = 6) -> Iterator[BusyProxy]:
    """A proxy named ``busy`` with ``readers`` connections always streaming through it."""
    stop = threading.Event()
    api_port = PortAllocator().allocate()
    process = subprocess.Popen(
        [str(resolve_binary("toxiproxy-server")), "-host", LOOPBACK, "-port", str(api_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    listener = socket.create_server((LOOPBACK, 0))
    try:
        _wait_for_api(f"http://{LOOPBACK}:{api_port}")
        threading.Thread(target=_serve_forever, args=(listener, stop), daemon=True).start()
        chaos = ChaosController(_LoopbackRuntime(), _LoopbackService(process, api_port))
        proxy = chaos.create_proxy("busy", f"{LOOPBACK}:{listener.getsockname()[1]}")
        for _ in range(readers):
            threading.Thread(target=_read_forever, args=(proxy.listen_port, stop), daemon=True).start()
        yield BusyProxy(chaos, proxy.name, stop)
    finally:
        stop.set()
        listener.close()
        process.kill()
        process.wait()
