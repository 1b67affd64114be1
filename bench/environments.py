"""Environments for benchmarks: built exactly as the runner builds them, minus the scenario."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from xmtpd_e2e.api.environment import Environment, create_environment
from xmtpd_e2e.config import RunConfig, local_images
from xmtpd_e2e.runner.lifecycle import EnvironmentRequest
from xmtpd_e2e.runner.scenario import ScenarioInfo
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.local import LocalRuntime
from xmtpd_e2e.infra.binaries import binary_resolver
from xmtpd_e2e.services.chain import start_chain


def bench_config(runtime: str, xmtpd_version: str | None = None) -> RunConfig:
    """Container runtimes use the locally built images (no registry is needed)."""
    config = RunConfig(runtime=runtime)
    if xmtpd_version:
        config = replace(config, xmtpd_version=xmtpd_version)
    return replace(config, images=local_images(config.xmtpd_version))


@contextmanager
def bench_environment(config: RunConfig, name: str = "bench") -> Iterator[tuple[Environment, RunState]]:
    """A created (not yet started) environment, closed and forgotten afterwards."""
    state = RunState.create(config.home)
    info = ScenarioInfo(name=name, description="benchmark", func=lambda env: None)
    with tempfile.TemporaryDirectory() as scratch:
        env = create_environment(EnvironmentRequest(info, config, state, logging.getLogger(name), Path(scratch)))
        try:
            yield env, state
        finally:
            env.close()
            state.discard()


@contextmanager
def bare_chain() -> Iterator[str]:
    """Only anvil with the XMTP contracts, started as every environment starts it; its RPC URL."""
    config = bench_config("local")
    state = RunState.create(config.home)
    with tempfile.TemporaryDirectory() as scratch:
        runtime = LocalRuntime(state, "chain", Path(scratch), binary_resolver(config))
        try:
            yield start_chain(runtime, image="").host_rpc
        finally:
            runtime.close(fast=True)
            state.discard()
