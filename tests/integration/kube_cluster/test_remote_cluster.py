"""The kubernetes runtime on a cluster it does not know as its own local one.

The local cluster's API server is reached through a TCP relay on 127.0.0.1 (a kubeconfig whose
server is the relay), so the runtime sees "another cluster": no host-side access to the nodes.
What a user of a remote cluster gets is then checked on real pods: the access mode (port-forward
when asked for, pod IPs when ``auto`` finds them answering), a kill by pod deletion, and network
faults and pause refused with a reason instead of silently doing nothing.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from xmtpd_e2e.config import RunConfig, local_images
from xmtpd_e2e.errors import ServiceError
from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runner.cleanup import finish_run
from xmtpd_e2e.runtime.base import ServiceState
from xmtpd_e2e.runtime.kubernetes.images import load_images
from xmtpd_e2e.runtime.kubernetes.runtime import KubernetesRuntime

from runtime.redis_service import SIGTERM_LINE, redis_call, redis_spec

pytestmark = pytest.mark.kubernetes


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _relay(target: tuple[str, int]) -> tuple[socket.socket, int]:
    """A listening socket on 127.0.0.1 whose connections are relayed to ``target``."""
    server = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(target, timeout=10)
            upstream.settimeout(None)
            for pair in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=pair, daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server, int(server.getsockname()[1])


@pytest.fixture()
def remote_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    layout = ClusterLayout.default()
    server, port = _relay((layout.api_address, layout.api_port))
    config = yaml.safe_load(layout.admin_kubeconfig.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{port}"  # the API certificate names 127.0.0.1
    path = tmp_path / "remote.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(path))
    try:
        yield path
    finally:
        server.close()


def _runtime(tmp_path: Path, access: str) -> tuple[KubernetesRuntime, RunState, str]:
    images = local_images(RunConfig().xmtpd_version)
    load_images([images.redis], RunConfig().xmtpd_version)  # a remote cluster has them from its registry
    state = RunState.create(tmp_path / "home")
    runtime = KubernetesRuntime(state, "e1", tmp_path / "logs", logging.getLogger("remote"), access=access)
    return runtime, state, images.redis


def test_port_forward_access_kill_by_deletion_and_faults_refused(remote_kubeconfig: Path, tmp_path: Path) -> None:
    runtime, state, redis_image = _runtime(tmp_path, "port-forward")
    try:
        assert runtime.connection.local is None, "through the relay the cluster is not the local one"
        service = runtime.start(replace(redis_spec(runtime, redis_image, "remote"), ready_timeout=60))
        host, port = service.host_address(6379)
        assert host == "127.0.0.1" and redis_call((host, port), "PING").startswith("+PONG")
        assert runtime.host_network_address() is None
        problem = runtime.network_faults_unavailable()
        assert problem is not None and "another cluster" in problem.problem and "add_latency" in problem.fix
        with pytest.raises(ServiceError, match="offers no pause"):
            service.pause()
        service.stop(graceful=False)  # through the API: the pod is deleted without a grace period
        assert service.state() is ServiceState.STOPPED
        service.start()
        assert redis_call(service.host_address(6379), "PING").startswith("+PONG")
        service.stop(graceful=True)
        assert SIGTERM_LINE in service.logs().rsplit("---- xmtpd-e2e: starting", 1)[-1]
    finally:
        runtime.close(fast=True)
        assert finish_run(state, logger=logging.getLogger("remote")) == []


def test_auto_access_uses_pod_ips_when_they_answer_from_here(remote_kubeconfig: Path, tmp_path: Path) -> None:
    runtime, state, redis_image = _runtime(tmp_path, "auto")
    try:
        assert runtime.connection.local is None and runtime.access is None
        service = runtime.start(replace(redis_spec(runtime, redis_image, "probed"), ready_timeout=60))
        assert runtime.access == "pod-ip", "this host routes to the pod network, so the probe gets an answer"
        assert service.host_address(6379) == (service.network_address(), 6379)
        assert redis_call(service.host_address(6379), "PING").startswith("+PONG")
    finally:
        runtime.close(fast=True)
        assert finish_run(state, logger=logging.getLogger("remote")) == []
