"""A fake environment and scenarios for testing the runner without any real component."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from xmtpd_e2e.api.require import Require
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runner.lifecycle import EnvironmentRequest
from xmtpd_e2e.runner.scenario import Registry, scenario
from xmtpd_e2e.timeline import Timeline

EVENTS_FILE = "XMTPD_E2E_TEST_EVENTS"


def record(event: str, **details: Any) -> None:
    """Append an event to the file named by $XMTPD_E2E_TEST_EVENTS (works across processes)."""
    path = os.environ.get(EVENTS_FILE)
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps({"event": event, **details}) + "\n")


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class FakeEnvironment:
    def __init__(self, request: EnvironmentRequest) -> None:
        self.name = request.scenario.name
        self.require = Require(request.logger)
        self.timeline = Timeline()
        self.violations: list[str] = []
        self.closed_fast: bool | None = None

    def start(self) -> None:
        record("start", scenario=self.name, at=time.time())
        if self.name == "setup-broken":
            raise SetupError("no Docker engine answers", "start Docker or use --runtime local")

    def check_invariants(self) -> list[str]:
        record("invariants", scenario=self.name)
        return (
            ["node 200 is missing 1 of 10 published envelopes (originator:sequence) 100:7"]
            if self.name == "invariant-broken"
            else []
        )

    def collect_artifacts(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "fake.txt"
        path.write_text("artifact")
        record("artifacts", scenario=self.name)
        return [path]

    def summary(self) -> dict[str, Any]:
        return {"runtime": "fake"}

    def observations(self) -> dict[str, Any]:
        return {"samples": {"interval_seconds": 1.0, "nodes": {}}}

    def service_logs(self) -> dict[str, str]:
        return {"fake-service": "2026-11-26T10:00:00.000Z\tINFO\tfake\tstarted\n"}

    def recoveries(self) -> list[dict[str, Any]]:
        return []

    def close(self, fast: bool = False) -> None:
        self.closed_fast = fast
        record("close", scenario=self.name, fast=fast)


def factory(request: EnvironmentRequest) -> FakeEnvironment:
    if request.scenario.name == "half-built":  # fails after creating a resource, before returning
        scratch = request.run_state.work_dir / "half-built"
        request.run_state.record("directory", str(scratch))
        scratch.mkdir(parents=True)
        record("created", path=str(scratch))
        raise SetupError("failed half-way through building the environment")
    return FakeEnvironment(request)


registry = Registry()


@scenario("passes", "always passes", suites=("fast",), registry=registry)
def passes(env: Any) -> None:
    env.require.equal(1, 1)


@scenario("check-fails", "a require check fails", registry=registry)
def check_fails(env: Any) -> None:
    env.require.equal(2, 3, "node 100 envelopes")


@scenario("assert-fails", "a plain assert fails", registry=registry)
def assert_fails(env: Any) -> None:
    assert 1 == 2, "plain assert"


@scenario("crashes", "raises an unexpected error", registry=registry)
def crashes(env: Any) -> None:
    raise KeyError("boom")


@scenario("hangs", "never returns", registry=registry)
def hangs(env: Any) -> None:
    time.sleep(3600)


@scenario("invariant-broken", "passes its own checks, violates an invariant", registry=registry)
def invariant_broken(env: Any) -> None:
    pass


@scenario("invariants-skipped", "opts out", skip_invariants="nothing is published", registry=registry)
def invariants_skipped(env: Any) -> None:
    pass


@scenario("half-built", "its environment fails while being built", registry=registry)
def half_built(env: Any) -> None:
    pass


@scenario("setup-broken", "its environment cannot start", registry=registry)
def setup_broken(env: Any) -> None:
    pass


@scenario("interrupts-itself", "sends SIGINT to its own process", registry=registry)
def interrupts_itself(env: Any) -> None:
    import signal

    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)


def _builds_a_cluster(env: Any) -> None:
    record("set-up", scenario=env.name, at=time.time())
    time.sleep(0.3)


@scenario("sets-up", "builds its cluster in a set-up, then passes", setup=_builds_a_cluster, registry=registry)
def sets_up(env: Any) -> None:
    record("body", scenario=env.name)


def _fails_to_build(env: Any) -> None:
    env.require.equal(2, 3, "nodes ready")


@scenario("set-up-fails", "its set-up's check fails", setup=_fails_to_build, registry=registry)
def set_up_fails(env: Any) -> None:
    record("body", scenario=env.name)
