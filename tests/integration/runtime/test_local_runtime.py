"""The local runtime in loopback mode against real processes: start, readiness, restart in place, kill,
close (the per-service namespace mode is covered by test_netns.py and the runtime contract)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xmtpd_e2e.errors import ServiceNotReady
from xmtpd_e2e.runner.cleanup import run_record
from xmtpd_e2e.runtime.base import ServiceSpec, ServiceState
from xmtpd_e2e.runtime.local import LocalRuntime
from xmtpd_e2e.runtime.processes import process_alive

pytestmark = pytest.mark.integration

# A tiny TCP server: prints its ready line, serves until killed, ignores nothing.
SERVER = (
    "import socket,sys,time;"
    "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
    "s.bind(('127.0.0.1',int(sys.argv[1])));s.listen();"
    "print('server ready',flush=True);"
    "[c.close() for c in iter(lambda:s.accept()[0],None)]"
)


def resolve(name: str) -> Path:
    return Path(sys.executable) if name == "python" else Path(f"/nonexistent/{name}")


@pytest.fixture()
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    with run_record(tmp_path / "home", logger=logging.getLogger("local-runtime")) as state:
        rt = LocalRuntime(state, "e1", tmp_path / "logs", resolve, network="loopback")
        try:
            yield rt
        finally:
            rt.close(fast=True)


def server_spec(rt: LocalRuntime, name: str = "srv") -> ServiceSpec:
    port = rt.listen_port(name, 9000)
    return ServiceSpec(
        name=name,
        role="test",
        image="unused",
        command=("python", "-c", SERVER, str(port)),
        ports=(port,),
        ready_log="server ready",
        ready_check=lambda s: bool(socket.create_connection(s.host_address(port), timeout=1)),
        ready_timeout=20,
    )


def test_start_restart_and_close(runtime: LocalRuntime) -> None:
    service = runtime.start(server_spec(runtime))
    assert service.state() is ServiceState.RUNNING
    port = service.spec.ports[0]
    assert runtime.internal_address("srv", 9000) == f"127.0.0.1:{port}"
    assert runtime.run_state.resources("process")

    service.stop(graceful=False)
    assert service.state() is ServiceState.STOPPED
    assert not runtime.run_state.resources("process")
    service.start()  # same port, same log file, readiness detected again
    assert service.spec.ports[0] == port
    assert service.logs().splitlines().count("server ready") == 2

    pid = service.pid  # type: ignore[attr-defined]
    runtime.close()
    assert pid is not None and not process_alive(pid)
    assert not runtime.run_state.resources("process")


def test_a_process_that_exits_is_not_ready_and_its_log_is_shown(runtime: LocalRuntime) -> None:
    spec = ServiceSpec(
        name="broken",
        role="test",
        image="unused",
        command=("python", "-c", "print('boom: bad config'); raise SystemExit(3)"),
        ready_log="never printed",
        ready_timeout=10,
    )
    with pytest.raises(ServiceNotReady, match="boom: bad config"):
        runtime.start(spec)


def test_children_of_a_service_die_with_it(runtime: LocalRuntime, tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    script = (
        "import subprocess,sys,time;"
        f"p=subprocess.Popen([sys.executable,'-c','import time; time.sleep(600)']);"
        f"open({str(marker)!r},'w').write(str(p.pid));print('ready',flush=True);time.sleep(600)"
    )
    service = runtime.start(
        ServiceSpec(name="parent", role="test", image="unused", command=("python", "-c", script), ready_log="ready")
    )
    child = int(marker.read_text())
    service.stop()
    subprocess.run(["sleep", "0.2"], check=True)
    assert not process_alive(child)


def test_processes_of_a_run_are_found_even_when_they_overwrite_their_environment(tmp_path: Path) -> None:
    from xmtpd_e2e.infra.binaries import resolve_binary
    from xmtpd_e2e.runtime.processes import RUN_MARKER, processes_of_run
    from xmtpd_e2e.runtime.ports import PortAllocator

    run_id = "rtest0001"
    work = tmp_path / "runs" / run_id / "e1" / "work" / "redis"
    work.mkdir(parents=True)
    port = PortAllocator().allocate()
    # redis-server rewrites its environment block for its process title, hiding the marker.
    redis = subprocess.Popen(
        [str(resolve_binary("redis-server")), "--port", str(port), "--save", ""],
        cwd=work,
        env={RUN_MARKER: run_id},
        stdout=subprocess.DEVNULL,
    )
    try:
        assert _wait_port(port), "redis-server did not start"
        assert processes_of_run(run_id) == [redis.pid]
    finally:
        redis.kill()
        redis.wait()
    assert processes_of_run(run_id) == []


def _wait_port(port: int) -> bool:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# -- teardown racing a start (an interrupt lands while set-up threads are starting services) -----------
def test_a_service_whose_start_began_before_close_is_never_left_running(tmp_path: Path) -> None:
    import threading

    from xmtpd_e2e.errors import ServiceError
    from xmtpd_e2e.runtime.processes import processes_of_run

    with run_record(tmp_path / "home", logger=logging.getLogger("start-racing-close")) as state:
        resolving, release = threading.Event(), threading.Event()

        def slow_resolve(name: str) -> Path:  # holds the start between "not closed yet" and spawning
            resolving.set()
            release.wait(60)
            return resolve(name)

        rt = LocalRuntime(
            state, "e1", tmp_path / "runs" / state.run_id / "e1" / "logs", slow_resolve, network="loopback"
        )
        outcome: list[BaseException | None] = []

        def start() -> None:
            try:
                rt.start(server_spec(rt))
                outcome.append(None)
            except BaseException as error:
                outcome.append(error)

        starter = threading.Thread(target=start)
        starter.start()
        assert resolving.wait(60)
        rt.close(fast=True)  # the environment is torn down while the start is under way
        release.set()
        starter.join(60)
        assert not starter.is_alive()
        assert isinstance(outcome[0], ServiceError), outcome
        assert processes_of_run(state.run_id) == [] and not state.resources("process")


def test_closing_during_readiness_ends_the_start_at_once(tmp_path: Path) -> None:
    import threading

    from xmtpd_e2e.errors import ServiceError

    with run_record(tmp_path / "home", logger=logging.getLogger("close-during-readiness")) as state:
        rt = LocalRuntime(state, "e1", tmp_path / "logs", resolve, network="loopback")
        spec = ServiceSpec(
            name="slow",
            role="test",
            image="unused",
            command=("python", "-c", "import time; time.sleep(600)"),
            ready_log="never printed",
            ready_timeout=600,
        )
        outcome: list[BaseException | None] = []
        starter = threading.Thread(target=lambda: _capture(outcome, lambda: rt.start(spec)))
        starter.start()
        while not state.resources("process"):
            subprocess.run(["sleep", "0.05"], check=True)
        rt.close(fast=True)
        # Before, the start waited out its whole readiness timeout for a service teardown had stopped.
        starter.join(120)
        assert not starter.is_alive(), "start() kept waiting for a service that close() had stopped"
        assert isinstance(outcome[0], ServiceError), outcome


def _capture(outcome: list[BaseException | None], call: object) -> None:
    try:
        call()  # type: ignore[operator]
        outcome.append(None)
    except BaseException as error:
        outcome.append(error)
