"""The runtime contract: what every registered runtime promises, checked on real services.

Each test runs once per runtime in ``RUNTIMES`` (a new runtime joins by registering), against
redis-server in the runtime's own form (host process, container, ...).  Where a promise is about
the system -- nothing left, run id on everything -- it is checked on the system itself, not in
the run's record.  A runtime is done when it passes this suite.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import Harness
from leftovers import system_leftovers
from redis_service import READY_LINE, SIGTERM_LINE, answers_ping, redis_call, redis_spec

from xmtpd_e2e.errors import ServiceError, ServiceNotReady
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.runner.cleanup import finish_run
from xmtpd_e2e.runtime.base import RunningService, ServiceSpec, ServiceState
from xmtpd_e2e.runtime.lifecycle import START_MARKER, ManagedRuntime, ManagedService

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent


def _last_start(service: RunningService) -> str:
    """The service's log since its latest start."""
    return service.logs().rsplit(START_MARKER, 1)[-1]


def _host(service: RunningService) -> tuple[str, int]:
    return service.host_address(service.spec.ports[0])


def _pid_of(service: RunningService) -> int:
    assert service.network_namespace() is not None, "a running service has a network namespace"
    assert isinstance(service, ManagedService)
    pid = service.main_pid()
    assert pid is not None, "a running service has a main process"
    return pid


def _process_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _frozen_on_system(pid: int) -> bool:
    """Whether the kernel holds ``pid`` still: stopped by a signal (state T), or in a frozen
    cgroup (v1 freezer ``FROZEN``, v2 ``cgroup.freeze`` = 1)."""
    if _process_state(pid) == "T":
        return True
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "freezer":
            state = Path(f"/sys/fs/cgroup/freezer{path}/freezer.state")
            return state.exists() and state.read_text().strip() == "FROZEN"
        if controllers == "":
            freeze = Path(f"/sys/fs/cgroup{path}/cgroup.freeze")
            if freeze.exists() and freeze.read_text().strip() == "1":
                return True
    return False


# -- readiness ----------------------------------------------------------------------------------
def test_ready_means_the_log_line_appeared_and_then_the_check_passed(harness: Harness) -> None:
    seen: list[bool] = []

    def check(service: RunningService) -> bool:
        seen.append(READY_LINE in _last_start(service))
        return answers_ping(service)

    base = redis_spec(harness.runtime, harness.redis_image, "ready")
    spec = replace(base, ready_check=check)
    service = harness.runtime.start(spec)
    assert service.state() is ServiceState.RUNNING
    assert seen and all(seen), "the check ran only after the ready line"
    assert redis_call(_host(service), "PING").startswith("+PONG")


def test_one_deadline_covers_log_line_and_check(harness: Harness) -> None:
    base = redis_spec(harness.runtime, harness.redis_image, "never-ready", ready_timeout=3)
    spec = replace(base, ready_check=lambda service: False)
    with pytest.raises(ServiceNotReady, match="not ready within 3s") as error:
        harness.runtime.start(spec)
    assert READY_LINE in error.value.logs_tail


def test_a_service_that_exits_while_starting_fails_with_its_log(harness: Harness) -> None:
    spec = redis_spec(harness.runtime, harness.redis_image, "broken", "--no-such-option", "x")
    with pytest.raises(ServiceNotReady, match="exited while starting") as error:
        harness.runtime.start(spec)
    assert "no-such-option" in error.value.logs_tail


# -- addressing ---------------------------------------------------------------------------------
def test_host_reaches_host_address_and_services_reach_internal_address(harness: Harness) -> None:
    runtime = harness.runtime
    primary = runtime.start(redis_spec(runtime, harness.redis_image, "primary"))
    assert primary.spec.ports == (runtime.listen_port("primary", 6379),), "listen_port is stable per service"
    assert redis_call(_host(primary), "SET", "greeting", "hello").startswith("+OK")

    host, port = runtime.internal_address("primary", 6379).rsplit(":", 1)
    replica = runtime.start(redis_spec(runtime, harness.redis_image, "replica", "--replicaof", host, port))
    wait_until(
        lambda: redis_call(_host(replica), "INFO", "replication"),
        lambda info: "master_link_status:up" in info,
        timeout=30,
        description="the replica to reach the primary at its internal address",
    )
    assert "hello" in redis_call(_host(replica), "GET", "greeting")


# -- stop, kill, start again --------------------------------------------------------------------
def test_graceful_stop_sends_sigterm_and_kill_does_not(harness: Harness) -> None:
    service = harness.runtime.start(redis_spec(harness.runtime, harness.redis_image, "stoppable"))
    service.stop(graceful=True)
    assert service.state() is ServiceState.STOPPED
    assert SIGTERM_LINE in _last_start(service)

    service.start()
    service.stop(graceful=False)
    assert service.state() is ServiceState.STOPPED
    assert SIGTERM_LINE not in _last_start(service), "a kill must be a SIGKILL, unseen by the service"


def test_start_again_keeps_identity_ports_and_data(harness: Harness) -> None:
    runtime = harness.runtime
    service = runtime.start(redis_spec(runtime, harness.redis_image, "durable"))
    internal = runtime.internal_address("durable", 6379)
    assert redis_call(_host(service), "SET", "kept", "across-restarts").startswith("+OK")

    service.stop(graceful=False)  # not even a clean shutdown: the data must be on its disk
    service.start()
    assert service.state() is ServiceState.RUNNING
    assert runtime.services()["durable"] is service
    assert runtime.internal_address("durable", 6379) == internal
    assert service.spec.ports == (runtime.listen_port("durable", 6379),)
    assert "across-restarts" in redis_call(_host(service), "GET", "kept")


def test_a_service_that_ends_by_itself_is_exited_and_can_start_again(harness: Harness) -> None:
    service = harness.runtime.start(redis_spec(harness.runtime, harness.redis_image, "crashy"))
    try:
        redis_call(_host(service), "SHUTDOWN", "NOSAVE")
    except OSError:
        pass  # the connection may close before a reply
    wait_until(
        service.state,
        lambda state: state is ServiceState.EXITED,
        timeout=30,
        description="the service to be seen as exited",
    )
    service.start()
    assert service.state() is ServiceState.RUNNING


def test_logs_accumulate_across_restarts(harness: Harness) -> None:
    service = harness.runtime.start(redis_spec(harness.runtime, harness.redis_image, "chatty"))
    service.stop()
    service.start()
    logs = service.logs()
    assert logs.count(START_MARKER) == 2
    assert logs.count(READY_LINE) == 2
    assert logs.index(SIGTERM_LINE) < logs.rindex(START_MARKER)


# -- pause, network namespace -------------------------------------------------------------------
def test_pause_freezes_the_service_and_resume_thaws_it(harness: Harness) -> None:
    service = harness.runtime.start(redis_spec(harness.runtime, harness.redis_image, "frozen"))
    pid = _pid_of(service)
    service.pause()
    service.pause()  # idempotent
    assert service.state() is ServiceState.PAUSED
    wait_until(lambda: _frozen_on_system(pid), bool, timeout=10, description="the kernel to freeze the service")
    with pytest.raises(OSError):  # connections queue in the kernel, but nothing answers
        redis_call(_host(service), "PING", timeout=1)
    service.resume()
    service.resume()  # idempotent
    assert service.state() is ServiceState.RUNNING
    assert not _frozen_on_system(pid)
    assert redis_call(_host(service), "PING").startswith("+PONG")

    service.pause()
    service.stop(graceful=True)  # a paused service is thawed to receive SIGTERM
    assert service.state() is ServiceState.STOPPED
    assert SIGTERM_LINE in _last_start(service)
    with pytest.raises(ServiceError, match="cannot be paused"):
        service.pause()


def test_network_namespace_is_where_the_service_listens(harness: Harness) -> None:
    service = harness.runtime.start(redis_spec(harness.runtime, harness.redis_image, "netns"))
    namespace = service.network_namespace()
    assert namespace is not None and namespace.exists()
    port = service.spec.ports[0]
    probe = (
        "import socket,sys; c=socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5);"
        "c.sendall(b'PING\\r\\n'); print(c.recv(100).decode())"
    )
    entered = subprocess.run(
        ["nsenter", f"--net={namespace}", sys.executable, "-c", probe, str(port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "+PONG" in entered.stdout, entered.stderr
    service.stop()
    assert service.network_namespace() is None


# -- closing ------------------------------------------------------------------------------------
def _start_two(harness: Harness) -> list[RunningService]:
    runtime = harness.runtime
    return [runtime.start(redis_spec(runtime, harness.redis_image, name)) for name in ("one", "two")]


def test_run_id_is_on_everything_the_runtime_creates(harness: Harness) -> None:
    services = _start_two(harness)
    run_id = harness.state.run_id
    on_system = system_leftovers(run_id, harness.config.home)
    recorded = harness.state.resources()
    for resource in recorded:
        if resource.kind == "process":
            assert str(resource.details["pid"]) in on_system.get("processes", []), resource
        elif resource.kind in ("container", "network", "namespace"):
            assert run_id in resource.ident, resource
            kind = "kube_namespaces" if resource.kind == "namespace" else f"{resource.kind}s"
            assert resource.ident in on_system.get(kind, []), f"{resource} not labelled with the run id"
        elif resource.kind == "pod":  # <namespace>/<service>: the namespace is named after the run
            assert run_id in resource.ident, resource
            assert resource.ident in on_system.get("kube_pods", []), f"{resource} not labelled with the run id"
        elif resource.kind == "netns":
            assert run_id in resource.ident and resource.ident in on_system.get("namespaces", []), resource
        elif resource.kind == "link":  # interface names are too short for a run id: its alias has it
            assert resource.ident in on_system.get("links", []), f"{resource} has no alias naming the run"
        elif resource.kind == "host-rule":
            assert run_id in resource.ident, resource
        else:
            assert resource.kind == "directory" and run_id in resource.ident, resource
    assert len([r for r in recorded if r.kind != "directory"]) >= len(services)


def test_close_removes_everything_and_is_idempotent(harness: Harness) -> None:
    _start_two(harness)
    harness.runtime.close()
    harness.runtime.close()
    state = harness.state
    assert [r.kind for r in state.resources()] == ["directory"], "close leaves only the environment's directory"
    assert set(system_leftovers(state.run_id, harness.config.home)) <= {"directories"}
    with pytest.raises(ServiceError, match="closed"):
        harness.runtime.start(redis_spec(harness.runtime, harness.redis_image, "late"))
    assert finish_run(state, logger=logging.getLogger("contract")) == []
    assert system_leftovers(state.run_id, harness.config.home) == {}


def test_fast_close_skips_graceful_stops_but_removes_everything(harness: Harness) -> None:
    services = _start_two(harness)
    paused = services[0]
    paused.pause()
    harness.runtime.close(fast=True)
    assert all(SIGTERM_LINE not in _last_start(service) for service in services)
    assert set(system_leftovers(harness.state.run_id, harness.config.home)) <= {"directories"}
    assert [r.kind for r in harness.state.resources()] == ["directory"]


def test_close_after_a_failed_start_removes_the_failed_service_too(harness: Harness) -> None:
    with pytest.raises(ServiceNotReady):
        harness.runtime.start(redis_spec(harness.runtime, harness.redis_image, "failed", "--no-such-option", "x"))
    harness.runtime.close()
    assert set(system_leftovers(harness.state.run_id, harness.config.home)) <= {"directories"}
    assert [r.kind for r in harness.state.resources()] == ["directory"]


def test_close_overtaking_a_start_leaves_nothing_of_the_service(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A set-up thread still creating its service when close() runs (an interrupt during set-up):
    whatever that creation does once close has ended, nothing of the service may stay -- no
    namespace, link or process on the local runtime, no container on docker."""
    runtime = harness.runtime
    assert isinstance(runtime, ManagedRuntime)
    creating, closed = threading.Event(), threading.Event()
    create = runtime._create

    def create_after_close(spec: ServiceSpec) -> ManagedService:
        creating.set()
        closed.wait(60)
        return create(spec)

    monkeypatch.setattr(runtime, "_create", create_after_close)
    outcome: list[BaseException | None] = []

    def start() -> None:
        try:  # a command that fails fast, should it ever run
            runtime.start(redis_spec(runtime, harness.redis_image, "overtaken", "--no-such-option", "x"))
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    starter = threading.Thread(target=start, daemon=True)
    starter.start()
    assert creating.wait(60), "the start never reached the service's creation"
    runtime.close()
    closed.set()
    starter.join(120)
    assert not starter.is_alive() and isinstance(outcome[0], ServiceError), outcome
    assert set(system_leftovers(harness.state.run_id, harness.config.home)) <= {"directories"}
    assert [r.kind for r in harness.state.resources()] == ["directory"]


def test_cleanup_removes_a_killed_runners_services(runtime_name: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = subprocess.Popen(
        [sys.executable, str(HERE / "hold_runtime.py"), runtime_name, str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout is not None
        run_id = holder.stdout.readline().strip()
        assert re.fullmatch(r"r[0-9a-f]{8}", run_id), holder.stderr.read() if holder.stderr else run_id
        assert holder.stdout.readline().strip() == "holding", holder.stderr.read() if holder.stderr else ""
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        left = system_leftovers(run_id, home)
        assert left.get("processes") or left.get("containers") or left.get("kube_pods"), (
            f"the killed runner left nothing to clean: {left}"
        )

        cleanup = subprocess.run(
            [sys.executable, "-m", "xmtpd_e2e.cli.main", "cleanup", "--run", run_id],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "XMTPD_E2E_HOME": str(home)},
        )
        assert cleanup.returncode == 0, cleanup.stderr
        deadline = time.monotonic() + 10
        while system_leftovers(run_id, home) and time.monotonic() < deadline:
            time.sleep(0.1)  # a SIGKILLed process may take a moment to be reaped
        assert system_leftovers(run_id, home) == {}
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
