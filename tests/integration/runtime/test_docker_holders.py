"""Docker's network holders, against the real engine: made at a service's first stop, not before.

A holder costs a container, so a node, gateway or validation service gets one only when it first
stops; from then on its address stays (refusing connections, as a stopped process's host does)
and the restarted service runs in the holder's namespace at that same address and host ports.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import cast

import docker
import pytest
from conftest import Harness
from redis_service import REDIS_PORT, redis_call, redis_spec

from xmtpd_e2e.errors import ServiceError
from xmtpd_e2e.runtime import docker_netns, labels
from xmtpd_e2e.runtime.docker import DockerRuntime
from xmtpd_e2e.runtime.registry import DOCKER

pytestmark = [pytest.mark.integration, pytest.mark.docker]


@pytest.fixture()
def runtime_name() -> str:
    """The contract's ``harness``, on docker only."""
    return DOCKER


def _containers_of(harness: Harness) -> list[str]:
    client = docker.from_env()
    try:
        found = client.containers.list(all=True, filters={"label": f"{labels.RUN}={harness.state.run_id}"})
        return sorted(str(c.name) for c in found)
    finally:
        client.close()


def _refuses(address: str, port: int) -> bool:
    """True when a connection to ``address:port`` is refused (a live address with no listener);
    False when it is accepted, or nothing answers within 3 s."""
    try:
        with socket.create_connection((address, port), timeout=3):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def test_a_held_role_gets_its_holder_at_its_first_stop_and_keeps_its_address(harness: Harness) -> None:
    runtime = harness.runtime
    spec = replace(redis_spec(runtime, harness.redis_image, "held"), role="node")
    service = runtime.start(spec)
    address = service.network_address()
    assert address is not None
    published = service.host_address(REDIS_PORT)
    assert not any(name.endswith("-netns") for name in _containers_of(harness)), "no holder before a stop"

    service.stop(graceful=False)
    assert any(name.endswith("held-netns") for name in _containers_of(harness)), "the stop made a holder"
    assert _refuses(address, REDIS_PORT), "a stopped service's address stays and refuses connections"

    service.start()
    assert service.network_address() == address
    assert service.host_address(REDIS_PORT) == published, "a client reaches it where it did before"
    assert redis_call(published, "PING").startswith("+PONG")
    holder_namespace = service.fault_namespace()
    assert holder_namespace is not None
    assert holder_namespace.samefile(f"/proc/{service.main_pid()}/ns/net"), "the service runs in its holder's namespace"

    service.stop(graceful=False)  # later stops keep the same holder
    service.start()
    assert service.network_address() == address
    network = cast(DockerRuntime, runtime).network_name
    assert [n for n in _containers_of(harness) if n.endswith("-netns")] == [docker_netns.holder_name(f"{network}-held")]


def test_other_roles_and_teardown_stops_make_no_holder(harness: Harness) -> None:
    runtime = harness.runtime
    plain = runtime.start(redis_spec(runtime, harness.redis_image, "plain"))
    node_like = runtime.start(replace(redis_spec(runtime, harness.redis_image, "ending"), role="node"))
    plain.stop(graceful=False)
    plain.start()
    runtime.begin_teardown()
    node_like.stop()
    assert not any(name.endswith("-netns") for name in _containers_of(harness))


def test_a_holder_that_cannot_start_is_not_left_behind(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = harness.runtime
    service = runtime.start(replace(redis_spec(runtime, harness.redis_image, "unheld"), role="node"))

    def refuse(holder: object) -> None:
        raise ServiceError("starting the network holder failed: address in use (simulated)")

    monkeypatch.setattr(docker_netns, "ensure_running", refuse)
    with pytest.raises(ServiceError, match="address in use"):
        service.stop(graceful=False)
    assert not any(name.endswith("-netns") for name in _containers_of(harness))
    assert not [r for r in harness.state.resources("container") if r.ident.endswith("-netns")]
