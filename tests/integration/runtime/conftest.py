"""Fixtures of the runtime contract: a runtime of each registered kind, built as environments
build theirs (same registry entry, a work directory recorded in the run's record)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from runtime_params import runtime_params

from xmtpd_e2e.config import RunConfig, local_images
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runner.cleanup import run_record
from xmtpd_e2e.runtime.base import Runtime
from xmtpd_e2e.runtime.registry import RUNTIMES, RuntimeRequest


@dataclass
class Harness:
    """A runtime under test, with the record and settings it was built from."""

    runtime: Runtime
    state: RunState
    config: RunConfig
    env_dir: Path

    @property
    def redis_image(self) -> str:
        return self.config.images.redis


def build_runtime(name: str, home: Path, state: RunState, env_id: str = "e1") -> tuple[Runtime, RunConfig, Path]:
    """A runtime named ``name`` for the run ``state`` records under ``home``."""
    config = RunConfig(runtime=name, home=home)
    config = replace(config, images=local_images(config.xmtpd_version))
    env_dir = state.work_dir / env_id
    state.record("directory", str(env_dir))
    env_dir.mkdir(parents=True, exist_ok=True)
    request = RuntimeRequest(config, state, env_id, env_dir / "logs", logging.getLogger(f"contract.{name}"))
    return RUNTIMES.get(name).create(request), config, env_dir


@pytest.fixture(params=runtime_params())
def runtime_name(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    problem = RUNTIMES.get(name).unavailable()
    if problem is not None:
        pytest.skip(f"runtime {name} cannot run here: {problem.problem}")
    return name


@pytest.fixture()
def harness(runtime_name: str, tmp_path: Path) -> Iterator[Harness]:
    home = tmp_path / "home"
    with run_record(home, logger=logging.getLogger("contract")) as state:
        runtime, config, env_dir = build_runtime(runtime_name, home, state)
        try:
            yield Harness(runtime, state, config, env_dir)
        finally:
            runtime.close(fast=True)
