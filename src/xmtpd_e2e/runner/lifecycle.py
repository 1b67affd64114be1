"""The contract between the runner and an environment: how one is made, driven and torn down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from xmtpd_e2e.api.require import Require
from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.runner.scenario import ScenarioInfo
from xmtpd_e2e.runner.state import RunState

__all__ = ["EnvironmentRequest", "ManagedEnvironment", "EnvironmentFactory", "default_environment_factory"]


@dataclass(frozen=True)
class EnvironmentRequest:
    scenario: ScenarioInfo
    config: RunConfig
    run_state: RunState
    logger: logging.Logger
    artifacts_dir: Path


class ManagedEnvironment(Protocol):
    """What the runner needs from an environment (the real one is ``api.environment``)."""

    require: Require

    def start(self) -> None: ...

    def check_invariants(self) -> list[str]: ...

    def collect_artifacts(self, directory: Path) -> list[Path]: ...

    def summary(self) -> dict[str, Any]: ...

    def close(self, fast: bool = False) -> None: ...


EnvironmentFactory = Callable[[EnvironmentRequest], ManagedEnvironment]


def default_environment_factory() -> EnvironmentFactory:
    """The real environment; imported lazily so listing scenarios needs no chain/gRPC stack."""
    from xmtpd_e2e.api.environment import create_environment

    return create_environment
