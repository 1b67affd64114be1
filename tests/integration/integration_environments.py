"""Environments for integration tests: the settings they run with, and a started environment
whose run record is finished however its set-up ends.

A module of its own, not conftest: test modules in other directories import it, and every
directory's conftest is imported under the one name ``conftest``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from xmtpd_e2e.api.environment import Environment, create_environment
from xmtpd_e2e.config import RunConfig, local_images
from xmtpd_e2e.runner.cleanup import run_record
from xmtpd_e2e.runner.lifecycle import EnvironmentRequest
from xmtpd_e2e.runner.scenario import ScenarioInfo

__all__ = ["integration_config", "started_environment"]


def integration_config(tmp_path: Path, runtime: str) -> RunConfig:
    """The settings integration tests run with: ``runtime``, the locally built images."""
    config = RunConfig(runtime=runtime, artifacts_dir=tmp_path / "artifacts")
    return replace(config, images=local_images(config.xmtpd_version))


@contextmanager
def started_environment(config: RunConfig, tmp_path: Path, name: str) -> Iterator[Environment]:
    """A started environment, torn down when the block ends; close must remove everything it
    created.  However the block ends -- creating or starting the environment included -- the
    run's record is finished, so a failed set-up leaves no record (nor anything it names)."""
    logger = logging.getLogger(f"xmtpd_e2e.test.{name}")
    with run_record(config.home, logger=logger) as state:
        info = ScenarioInfo(name=name, description="integration test", func=lambda env: None)
        env = create_environment(EnvironmentRequest(info, config, state, logger, tmp_path))
        try:
            env.start()
            yield env
        finally:
            env.close()
            assert not state.resources(), f"resources left after close: {state.resources()}"
