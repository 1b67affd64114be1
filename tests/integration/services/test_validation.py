"""The MLS validation service as a component of every environment, on every runtime: healthy,
given to every node, answering validations, killed and restarted; bad input refused cleanly."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest
from integration_environments import integration_config, started_environment
from runtime_params import runtime_params
from validation_probe import bogus_key_package_envelope, validate_bogus_key_package

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.client.errors import PublishError
from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.validation import find_validation_bin
from xmtpd_e2e.runtime.base import ServiceState
from xmtpd_e2e.runtime.kubernetes.runtime import KubernetesRuntime
from xmtpd_e2e.runtime.registry import KUBERNETES, LOCAL

pytestmark = pytest.mark.integration

KEY_PACKAGE_REJECTED = "key package validation failed"
"""xmtpd's words when the service answered that a key package is invalid (service.go)."""


def _validation_bin() -> Path:
    try:
        found = find_validation_bin(RunConfig())
    except SetupError as error:
        pytest.fail(str(error))
    if found is None:
        pytest.fail(
            "these tests need libxmtp's mls-validation-service: set XMTPD_E2E_MLS_VALIDATION_BIN "
            "(.ci/run sets it to ../shared/bin/mls-validation-service)"
        )
    return found


@pytest.fixture(params=runtime_params())
def validated_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Environment]:
    config = replace(integration_config(tmp_path, request.param), mls_validation_bin=_validation_bin())
    with started_environment(config, tmp_path, request.node.name[:20]) as env:
        yield env


def _rejection(env: Environment, node_id: int) -> str:
    client = env.new_client(node_id, name=f"kp-{node_id}-{len(env.clients())}")
    with pytest.raises(PublishError) as raised:
        client.publish_client_envelopes([bogus_key_package_envelope()])
    return str(raised.value)


def test_healthy_given_to_every_node_and_validating_through_them(validated_env: Environment) -> None:
    env = validated_env
    validation = env.validation
    assert validation.healthy() and validation.is_running
    response = validate_bogus_key_package(validation.endpoint)
    assert b"TLS Codec" in response, response  # is_ok=false with the service's reason
    first, later = env.add_node(), env.add_node()  # nodes added after the start get it too
    for node in (first, later):
        assert node.service.spec.env["XMTPD_MLS_VALIDATION_GRPC_ADDRESS"] == validation.internal_url
    rejection = _rejection(env, first.id)
    assert KEY_PACKAGE_REJECTED in rejection and "TLS Codec" in rejection, rejection
    assert env.summary()["mls_validation"] == {"address": validation.internal_url, "state": "running"}
    artifacts = env.collect_artifacts(env.work_dir / "artifacts-check")
    log = next(path for path in artifacts if path.name == "mls-validation.log")
    assert "Starting validation service" in log.read_text()  # its own log, as the other services'


def _dial_errors_once_killed(env: Environment, node: NodeHandle) -> tuple[str, ...]:
    """How the node's dial to the killed service fails, by runtime (read while both run).

    Local and docker: the stopped service's address stays and refuses (docker: its network
    holder).  Kubernetes: the address went with the pod.  From the same cluster node the kernel's
    failed neighbour lookup answers the dial ("no route to host"); from the other one that answer
    comes back only if the forwarding node's ICMP "host unreachable" does, else the dial waits for
    gRPC's 20 s connect timeout ("i/o timeout"): both were seen with that placement.  Neither is
    at once: the lookup takes about 3 s."""
    if env.runtime.name != KUBERNETES:
        return ("connection refused",)
    placement = cast(KubernetesRuntime, env.runtime).pod_nodes()
    same = placement[node.service.spec.name] == placement[env.validation.service.spec.name]
    return ("no route to host",) if same else ("no route to host", "i/o timeout")


def test_killed_validation_fails_key_packages_until_restarted(validated_env: Environment) -> None:
    env = validated_env
    node = env.add_node()
    dial_errors = _dial_errors_once_killed(env, node)
    env.validation.kill()
    assert env.validation.state() is not ServiceState.RUNNING and not env.validation.healthy()
    down = _rejection(env, node.id)
    assert "could not validate key package" in down and KEY_PACKAGE_REJECTED not in down, down
    assert any(error in down for error in dial_errors), (dial_errors, down)
    env.validation.start()
    assert env.validation.healthy()
    back = env.require.eventually(
        lambda: _rejection(env, node.id),
        accept=lambda text: KEY_PACKAGE_REJECTED in text,
        timeout=30,
        description="the node reaching the restarted validation service",
    )
    assert "TLS Codec" in back
    assert "mls-validation" in env.service_logs()


def test_without_the_service_nodes_keep_an_address_nothing_answers_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XMTPD_E2E_MLS_VALIDATION_BIN", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    config = replace(integration_config(tmp_path, LOCAL), home=RunConfig().home)
    with started_environment(config, tmp_path, "no-validation") as env:
        assert not env.has_validation
        with pytest.raises(SetupError, match="no MLS validation service is configured"):
            _ = env.validation
        node = env.add_node()
        assert node.service.spec.env["XMTPD_MLS_VALIDATION_GRPC_ADDRESS"] == "http://127.0.0.1:1"
        env.new_client(node.id).publish_envelopes(2)  # group messages need no validation


@pytest.mark.parametrize("runtime", runtime_params())
def test_a_program_that_never_gets_healthy_is_refused_naming_the_service(tmp_path: Path, runtime: str) -> None:
    impostor = tmp_path / "mls-validation-service"
    impostor.write_text("#!/bin/sh\necho 'not the validation service'\nexit 3\n")
    impostor.chmod(impostor.stat().st_mode | stat.S_IXUSR)
    config = replace(integration_config(tmp_path, runtime), mls_validation_bin=impostor)
    with pytest.raises(SetupError) as raised:  # started_environment asserts nothing is left
        with started_environment(config, tmp_path, "impostor"):
            pass
    message = str(raised.value)
    assert "MLS validation service" in message and "did not become healthy" in message, message
    assert "mls-validation-service" in raised.value.fix


def test_on_the_hosts_loopback_too(tmp_path: Path) -> None:
    """Loopback mode: the service binds every interface on a free port the runtime picked."""
    config = replace(
        integration_config(tmp_path, LOCAL), local_network="loopback", mls_validation_bin=_validation_bin()
    )
    with started_environment(config, tmp_path, "loopback") as env:
        assert env.validation.healthy() and env.validation.internal_url.startswith("http://127.0.0.1:")
        node = env.add_node()
        rejection = _rejection(env, node.id)
        assert KEY_PACKAGE_REJECTED in rejection, rejection


def _stalls(env: Environment, node_id: int) -> str:
    """A key-package publish whose validation never gets an answer: the request times out."""
    client = env.new_client(node_id, name=f"stall-{node_id}-{len(env.clients())}", publish_timeout=5)
    with pytest.raises(PublishError) as raised:
        client.publish_client_envelopes([bogus_key_package_envelope()])
    return str(raised.value)


def _validated_again(env: Environment, node_id: int) -> None:
    env.require.eventually(
        lambda: _rejection(env, node_id),
        accept=lambda text: KEY_PACKAGE_REJECTED in text,
        timeout=60,
        description=f"node {node_id} validating key packages again",
        swallow=(AssertionError,),
    )


@pytest.mark.parametrize("runtime", runtime_params())
def test_cut_from_validation_and_paused_validation(tmp_path: Path, runtime: str) -> None:
    config = replace(integration_config(tmp_path, runtime), mls_validation_bin=_validation_bin())
    with started_environment(config, tmp_path, "validation-faults") as env:
        cut_off, other = env.add_nodes(2)
        fault = env.cut(cut_off.id, "validation")
        stalled = _stalls(env, cut_off.id)
        assert "DEADLINE_EXCEEDED" in stalled or "could not validate key package" in stalled, stalled
        assert KEY_PACKAGE_REJECTED in _rejection(env, other.id)  # only node 100's path is cut
        fault.heal()
        _validated_again(env, cut_off.id)
        env.validation.pause()
        stalled = _stalls(env, other.id)
        assert "DEADLINE_EXCEEDED" in stalled or "could not validate key package" in stalled, stalled
        env.validation.resume()
        _validated_again(env, other.id)
