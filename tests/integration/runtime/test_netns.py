"""The local runtime's namespaces (as root): each service on its own address, nothing left after
close, nor after the runner is SIGKILLed and `cleanup` runs."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from xmtpd_e2e.record import RunState
from xmtpd_e2e.runner.cleanup import remove_resources, run_record
from xmtpd_e2e.runtime.base import ServiceSpec
from xmtpd_e2e.runtime.local import LocalRuntime
from xmtpd_e2e.errors import ServiceError
from xmtpd_e2e.runtime import netns
from xmtpd_e2e.runtime.netns import SUBNET, links_of_run, namespaces_available, namespaces_of_run

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(namespaces_available() is not None, reason=f"namespaces unavailable: {namespaces_available()}"),
]

SERVER = (
    "import socket,sys;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
    "s.bind(('0.0.0.0',int(sys.argv[1])));s.listen();print('server ready',flush=True);"
    "[c.close() for c in iter(lambda:s.accept()[0],None)]"
)


def resolve(name: str) -> Path:
    return Path(sys.executable)


def server(rt: LocalRuntime, name: str) -> ServiceSpec:
    port = rt.listen_port(name, 9000)
    return ServiceSpec(
        name=name,
        role="test",
        image="unused",
        command=("python", "-c", SERVER, str(port)),
        ports=(port,),
        ready_log="server ready",
        ready_check=lambda s: bool(socket.create_connection(s.host_address(port), timeout=1)),
    )


def leftovers(state: RunState, bridge: str) -> list[str]:
    found = [f"namespace {n}" for n in namespaces_of_run(state.run_id)]
    if Path(f"/sys/class/net/{bridge}").exists():
        found.append(f"bridge {bridge}")
    for table in ("filter", "nat"):
        rules = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True).stdout
        found += [f"rule {line}" for line in rules.splitlines() if state.run_id in line]
    return found


PEER_SERVER = (
    "import socket,sys;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
    "s.bind(('127.0.0.1',0));s.listen();print(s.getsockname()[1],flush=True);"
    "[c.sendall(repr(a).encode()) or c.close() for c,a in iter(s.accept,None)]"
)


def test_a_host_loopback_port_is_reached_from_a_namespace_through_the_kernel(tmp_path: Path) -> None:
    """Postgres's path: a server on the host's 127.0.0.1 only, reached from a service's namespace at
    the bridge's address and the same port; it sees the connection come from 127.0.0.1 (what
    Postgres's access rules admit), and no process relays it."""
    peer = subprocess.Popen([sys.executable, "-c", PEER_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout is not None
        port = int(peer.stdout.readline())
        with run_record(tmp_path / "home", logger=logging.getLogger("netns")) as state:
            rt = LocalRuntime(state, "e1", tmp_path / "logs", resolve, network="namespaces")
            assert rt.network is not None
            bridge = rt.network.bridge
            try:
                b = rt.start(server(rt, "b"))
                host, reached_port = rt.reach_host_port(port)
                assert (host, reached_port) == (rt.network.host_address, port)
                assert rt.reach_host_port(port) == (host, port)  # once: no second pair of rules
                seen = subprocess.run(
                    [
                        "nsenter",
                        f"--net={b.network_namespace()}",
                        sys.executable,
                        "-c",
                        f"import socket; print(socket.create_connection(('{host}', {port}), timeout=3).recv(100).decode())",
                    ],
                    capture_output=True,
                    text=True,
                )
                assert seen.returncode == 0, seen.stderr
                assert seen.stdout.startswith("('127.0.0.1',"), seen.stdout
                assert set(rt.services()) == {"b"}, "a relay process was started"
            finally:
                rt.close(fast=True)
            assert leftovers(state, bridge) == []
            assert state.resources() == []
    finally:
        peer.kill()
        peer.wait()


def test_services_get_their_own_addresses_and_close_removes_everything(tmp_path: Path) -> None:
    with run_record(tmp_path / "home", logger=logging.getLogger("netns")) as state:
        rt = LocalRuntime(state, "e1", tmp_path / "logs", resolve, network="namespaces")
        assert rt.network is not None
        bridge = rt.network.bridge
        try:
            a, b = rt.start(server(rt, "a")), rt.start(server(rt, "b"))
            host_a, port_a = a.host_address(a.spec.ports[0])
            assert port_a == 9000 and ipaddress.ip_address(host_a) in SUBNET
            assert rt.internal_address("b", 9000) == f"{b.network_address()}:9000"
            assert a.network_namespace() != b.network_namespace()
            assert {r.kind for r in state.resources()} >= {"netns", "link", "host-rule", "process"}
            # b reaches a across the bridge, from inside its namespace
            probe = subprocess.run(
                [
                    "nsenter",
                    f"--net={b.network_namespace()}",
                    sys.executable,
                    "-c",
                    f"import socket; socket.create_connection(('{host_a}', 9000), timeout=3)",
                ]
            )
            assert probe.returncode == 0
        finally:
            rt.close(fast=True)
        assert leftovers(state, bridge) == []
        assert state.resources() == []


RUNNER = """
import logging, sys, time
from pathlib import Path
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.local import LocalRuntime
sys.path.insert(0, sys.argv[2])
from test_netns import server
state = RunState.create(Path(sys.argv[1]))
rt = LocalRuntime(state, "e1", Path(sys.argv[1]) / "logs", lambda name: Path(sys.executable), network="namespaces")
rt.start(server(rt, "a"))
rt.reach_host_port(8765)
print(state.path, rt.network.bridge, flush=True)
time.sleep(600)
"""


def test_sigkill_then_cleanup_removes_namespaces_bridge_and_rule(tmp_path: Path) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp_path / "home"), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    assert runner.stdout is not None
    line = runner.stdout.readline().split()
    assert line, "the runner did not start its service"
    state_path, bridge = Path(line[0]), line[1]
    runner.kill()
    runner.wait()
    state = RunState.load(state_path)
    assert leftovers(state, bridge), "the SIGKILLed runner left nothing to clean up?"
    assert remove_resources(state, logger=logging.getLogger("test")) == []
    deadline = time.monotonic() + 10
    while leftovers(state, bridge) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftovers(state, bridge) == []


def test_a_namespace_whose_creation_fails_part_way_is_removed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creating a service's namespace fails after the namespace and its veth exist (here: joining
    the bridge): the start fails and neither stays, on the system or in the record."""
    with run_record(tmp_path / "home", logger=logging.getLogger("netns")) as state:
        rt = LocalRuntime(state, "e1", tmp_path / "logs", resolve, network="namespaces")
        batch = netns._batch

        def bridge_refuses(commands: Sequence[str], namespace: str | None = None) -> None:
            joining = [i for i, command in enumerate(commands) if " master " in command]
            if joining:  # what `ip -batch` does when a command fails: the ones before it stay done
                batch(commands[: joining[0]], namespace)
                raise ServiceError("injected: the bridge refuses the veth")
            batch(commands, namespace)

        try:
            monkeypatch.setattr(netns, "_batch", bridge_refuses)
            with pytest.raises(ServiceError, match="injected"):
                rt.start(server(rt, "a"))
            monkeypatch.undo()
            assert namespaces_of_run(state.run_id) == []
            assert [link for link in links_of_run(state.run_id) if link.startswith("xv")] == []
            assert {r.kind for r in state.resources()} == {"link", "host-rule"}, state.resources()
        finally:
            rt.close(fast=True)
