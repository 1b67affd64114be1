"""Each fault is real: checked from inside the services' namespaces and in /proc, on both runtimes."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_params import runtime_params

from integration_environments import integration_config, started_environment
from netprobe import connects, frozen, udp_delivery, udp_out_of
from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.faults.capabilities import kernel_lacks_netem
from xmtpd_e2e.faults.namespace import tcp_sockets
from xmtpd_e2e.runtime.base import RunningService
from xmtpd_e2e.runtime.lifecycle import ManagedService


@pytest.fixture(scope="module", params=runtime_params())
def two_nodes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    """Two nodes and a gateway, shared by this module's tests (each heals what it does)."""
    tmp_path = tmp_path_factory.mktemp(request.param)
    with started_environment(integration_config(tmp_path, request.param), tmp_path, f"faults-{request.param}") as env:
        env.add_nodes(2)
        env.add_gateway()
        yield env


def _namespace(node: NodeHandle) -> str:
    namespace = node.service.network_namespace()
    assert namespace is not None
    return str(namespace)


def _via_proxy(env: Environment, node: NodeHandle) -> tuple[str, int]:
    """The address peers use for ``node``: its toxiproxy listener."""
    toxiproxy = env.chaos_service.network_address()
    assert toxiproxy is not None
    return toxiproxy, int(node.proxy.internal_address.rsplit(":", 1)[1])


def _direct(node: NodeHandle) -> tuple[str, int]:
    address = node.service.network_address()
    assert address is not None
    return address, node.service.spec.ports[0]


def test_partition_cuts_both_ways_and_heals(two_nodes: Environment) -> None:
    env = two_nodes
    a, b = env.node(100), env.node(200)
    assert connects(_namespace(a), *_via_proxy(env, b)) and connects(_namespace(b), *_via_proxy(env, a))
    fault = env.partition({100}, {200})
    try:
        assert not connects(_namespace(a), *_via_proxy(env, b)), "100 still reaches 200's proxy"
        assert not connects(_namespace(a), *_direct(b)), "100 still reaches 200 directly"
        assert not connects(_namespace(b), *_via_proxy(env, a)), "200 still reaches 100's proxy"
        assert not connects(_namespace(b), *_direct(a)), "200 still reaches 100 directly"
        anvil = env.chain_service
        assert connects(_namespace(a), anvil.network_address() or "", anvil.spec.ports[0]), (
            "the chain must stay reachable"
        )
        [event] = [e for e in env.timeline.active("fault") if e.name == "partition"]
        assert set(event.targets) == {"node-100", "node-200", "gateway-0"}
    finally:
        fault.heal()
    assert not env.timeline.active("fault")
    assert connects(_namespace(a), *_via_proxy(env, b)) and connects(_namespace(b), *_via_proxy(env, a))


def test_a_restarted_node_gets_its_faults_back_and_loses_its_pause(two_nodes: Environment) -> None:
    env = two_nodes
    a, b = env.node(100), env.node(200)
    fault = env.cut(200, 100)
    try:
        b.pause()
        b.stop(kill=True)
        assert [f.name for f in env.faults.controller.active()] == ["cut"], "a killed node is no longer paused"
        b.start()
        assert not connects(_namespace(b), *_via_proxy(env, a)), "the cut must hold after node 200 restarted"
    finally:
        fault.heal()
    assert connects(_namespace(b), *_via_proxy(env, a))


def test_one_way_cut(two_nodes: Environment) -> None:
    env = two_nodes
    a, b = env.node(100), env.node(200)
    with_cut = env.cut(100, 200)
    try:
        assert not connects(_namespace(a), *_via_proxy(env, b))
        assert connects(_namespace(b), *_via_proxy(env, a))
    finally:
        with_cut.heal()
    assert connects(_namespace(a), *_via_proxy(env, b))


def test_client_path_cut(two_nodes: Environment) -> None:
    env = two_nodes
    node = env.node(100)
    host, port = node.endpoint.rsplit(":", 1)
    fault = env.cut("clients", 100)
    try:
        assert not _host_connects(host, int(port)), "the framework still reaches node 100"
        assert connects(_namespace(env.node(200)), *_via_proxy(env, node)), "peers must still reach node 100"
    finally:
        fault.heal()
    assert _host_connects(host, int(port))


def test_chain_and_database_paths_are_cut_from_the_node(two_nodes: Environment) -> None:
    env = two_nodes
    node = env.node(100)
    anvil = env.chain_service
    chain = (anvil.network_address() or "", anvil.spec.ports[0])
    database = _database_as_seen_by(env, node)
    assert connects(_namespace(node), *chain) and connects(_namespace(node), *database)
    faults = [env.cut(100, "chain"), env.cut(100, "database")]
    try:
        assert not connects(_namespace(node), *chain), "node 100 still reaches anvil"
        assert not connects(_namespace(node), *database), "node 100 still reaches Postgres"
        assert connects(_namespace(env.node(200)), *chain) and connects(_namespace(env.node(200)), *database)
    finally:
        for fault in faults:
            fault.heal()
    assert connects(_namespace(node), *chain) and connects(_namespace(node), *database)


def test_packet_loss_rate_is_near_the_configured_one(two_nodes: Environment) -> None:
    env = two_nodes
    node = env.node(200)
    address = node.service.network_address()
    assert address is not None
    assert udp_delivery(_namespace(node), address, 47001, count=500) > 0.97
    fault = node.add_packet_loss(30)
    try:
        delivered = udp_delivery(_namespace(node), address, 47002, count=3000)
    finally:
        fault.heal()
    # 3000 datagrams at 30 % loss: the standard deviation of the loss rate is 0.8 %.
    assert 0.65 <= delivered <= 0.75, f"delivered {delivered:.1%} with 30% loss configured"


def test_bandwidth_limit_installs_and_heals(two_nodes: Environment) -> None:
    env = two_nodes
    node = env.node(200)
    fault = node.limit_bandwidth(64)
    try:
        qdiscs = subprocess.run(
            ["nsenter", f"--net={_namespace(node)}", "tc", "qdisc", "show"], capture_output=True, text=True, check=True
        ).stdout
        assert "tbf" in qdiscs and "ingress" in qdiscs
    finally:
        fault.heal()
    qdiscs = subprocess.run(
        ["nsenter", f"--net={_namespace(node)}", "tc", "qdisc", "show"], capture_output=True, text=True, check=True
    ).stdout
    assert "tbf" not in qdiscs


def test_duplication_and_reordering_act_where_the_kernel_has_netem_else_are_refused(two_nodes: Environment) -> None:
    """What the kernel offers decides: netem present, both are applied and observed (more
    datagrams arrive than were sent; some arrive out of order); absent, the clear refusal."""
    env = two_nodes
    node = env.node(200)
    missing = kernel_lacks_netem()
    if missing is not None:
        for apply in (lambda: node.add_duplication(5), lambda: node.add_reordering(25)):
            with pytest.raises(SetupError, match="netem"):
                apply()
        assert not env.timeline.active("fault")
        return
    host = env.runtime.host_network_address()
    assert host is not None
    with_duplicates = node.add_duplication(50)
    try:
        assert len(udp_out_of(_namespace(node), host, 47201, count=600)) > 700
    finally:
        with_duplicates.heal()
    reordered = node.add_reordering(50, delay_ms=20)
    try:
        arrived = udp_out_of(_namespace(node), host, 47202, count=600)
        assert any(a > b for a, b in zip(arrived, arrived[1:], strict=False)), "no datagram arrived out of order"
    finally:
        reordered.heal()


def test_pause_stops_the_process_and_resume_continues_it(two_nodes: Environment) -> None:
    env = two_nodes
    node = env.node(200)
    pid = _main_pid(node.service)
    assert pid is not None
    node.pause()
    try:
        assert frozen(pid)
        assert [e.name for e in env.timeline.active("fault")] == ["pause"]
    finally:
        node.resume()
    assert not frozen(pid)
    gateway = env.gateway(0)
    gateway.pause()
    gateway_pid = _main_pid(gateway.service)
    assert gateway_pid is not None and frozen(gateway_pid)
    env.heal()
    assert not frozen(gateway_pid)


def test_failure_artifacts_hold_each_services_tcp_sockets(two_nodes: Environment, tmp_path: Path) -> None:
    """A stalled stream leaves no trace in any log; the kernel's socket state is kept instead."""
    env = two_nodes
    address, port = _via_proxy(env, env.node(200))
    peer = f"{address}:{port}"
    deadline = time.monotonic() + 120
    while peer not in tcp_sockets(_namespace(env.node(100))):  # node 100 syncs from node 200 through its proxy
        assert time.monotonic() < deadline, f"node 100 never connected to {peer}"
        time.sleep(1)
    env.collect_artifacts(tmp_path)
    sockets = (tmp_path / "sockets" / "node-100.txt").read_text()
    [stream] = [line for line in sockets.splitlines() if peer in line]
    assert stream.startswith("ESTAB"), stream
    assert "rto:" in sockets, "the kernel's TCP detail (ss -i) must be there"
    assert (tmp_path / "sockets" / "node-200.txt").is_file()
    assert (tmp_path / "sockets" / "gateway-0.txt").is_file()


def _database_as_seen_by(env: Environment, node: NodeHandle) -> tuple[str, int]:
    """Postgres's address as the node dials it; a name is a service of the environment's own
    (kubernetes: its Postgres pod, named by its Service) or resolved through the container's own
    /etc/hosts (docker's host.docker.internal)."""
    host, port = env.faults.database_endpoint()
    if host[0].isdigit():
        return host, port
    own = env.runtime.services().get(host)
    if own is not None and own.network_address():
        return str(own.network_address()), port
    with open(f"/proc/{_main_pid(node.service)}/root/etc/hosts") as hosts:
        for line in hosts:
            fields = line.split()
            if len(fields) >= 2 and host in fields[1:]:
                return fields[0], port
    raise AssertionError(f"{host} is not in the node's /etc/hosts")


def _main_pid(service: RunningService) -> int | None:
    assert isinstance(service, ManagedService)
    return service.main_pid()


def _host_connects(host: str, port: int) -> bool:
    """True if the gRPC server at host:port answers an HTTP/2 preface within 3 s.  A bare TCP
    connect is not enough on docker: docker-proxy accepts on the host side whatever happens to
    its own connection into the container."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=3) as connection:
            connection.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"))
            return bool(connection.recv(16))
    except OSError:
        return False
