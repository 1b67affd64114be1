"""A loopback port that leads to a pod's port through the Kubernetes API (port-forward).

The framework's clients need ``host:port`` (gRPC channels, HTTP, Postgres), so each forwarded
pod port gets a listening socket on 127.0.0.1; every accepted connection opens its own
port-forward stream (a websocket to the API server, which works on any cluster the kubeconfig
reaches) and bytes are pumped both ways.  The pod is named, not its IP, so after a service is
started again (a new pod with the same name) new connections reach the new pod.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from typing import Any

from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.stream import portforward

__all__ = ["PodPortForward"]

_log = logging.getLogger("xmtpd_e2e.runtime.kubernetes.port_forward")
_CHUNK = 256 * 1024
_FINISH_SECONDS = 2.0
"""How long a stream whose client closed may take to end on the pod's side before it is cut."""


class PodPortForward:
    """Listens on 127.0.0.1:<ephemeral>; each connection is forwarded to ``pod``:``port``."""

    def __init__(self, configuration: Any, namespace: str, pod: str, port: int) -> None:
        self._configuration = configuration
        self._namespace = namespace
        self._pod = pod
        self._port = port
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(128)
        self.address: tuple[str, int] = ("127.0.0.1", int(self._server.getsockname()[1]))
        self._closed = threading.Event()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name=f"forward-{pod}-{port}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _peer = self._server.accept()
            except OSError:
                return
            with self._lock:
                self._connections.add(client)
            threading.Thread(
                target=self._serve, args=(client,), name=f"forward-{self._pod}-{self._port}-conn", daemon=True
            ).start()

    def _open_stream(self) -> Any:
        # A client of its own per stream: opening one swaps the client's request method meanwhile.
        api = CoreV1Api(ApiClient(self._configuration))
        return portforward(
            api.connect_get_namespaced_pod_portforward, self._pod, self._namespace, ports=str(self._port)
        )

    def _serve(self, client: socket.socket) -> None:
        stream: Any = None
        try:
            stream = self._open_stream()
            remote = stream.socket(self._port)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pump(client, remote)
        except Exception as error:  # the pod is gone or not running: the client sees a reset
            _log.debug("forward to %s/%s:%d ended: %s", self._namespace, self._pod, self._port, error)
        finally:
            with self._lock:
                self._connections.discard(client)
            for closable in (client, stream):
                try:
                    if closable is not None:
                        closable.close()
                except Exception:
                    pass

    def _pump(self, client: socket.socket, remote: Any) -> None:
        peers = {client.fileno(): remote, remote.fileno(): client}
        open_ends = {client.fileno(), remote.fileno()}
        while open_ends and not self._closed.is_set():
            readable, _w, _x = select.select(list(open_ends), [], [], 1.0)
            for fd in readable:
                source = client if fd == client.fileno() else remote
                try:
                    data = source.recv(_CHUNK)
                except OSError:
                    data = b""
                if not data:  # either side closing ends the connection
                    if source is client:
                        self._finish(remote)
                    return
                peers[fd].sendall(data)

    @staticmethod
    def _finish(remote: Any) -> None:
        """The client closed: pass the close on to the stream (a half-close) and read the pod's
        side until it ends too.  Closing the stream's socket with the pod's bytes still unread
        would reset the library's end of it, which reports that as a traceback on stderr."""
        try:
            remote.shutdown(socket.SHUT_WR)
            remote.settimeout(0.5)
            deadline = time.monotonic() + _FINISH_SECONDS
            while time.monotonic() < deadline and remote.recv(_CHUNK):
                continue
        except OSError:
            return

    def close(self) -> None:
        self._closed.set()
        try:
            self._server.close()
        except OSError:
            pass
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            except OSError:
                pass
