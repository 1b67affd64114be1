"""The contract between the runner and an environment: how one is made, driven and torn down."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from xmtpd_e2e.api.require import Require
from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runner.scenario import ScenarioInfo
from xmtpd_e2e.record import RunState
from xmtpd_e2e.timeline import Timeline

__all__ = [
    "EnvironmentRequest",
    "ManagedEnvironment",
    "EnvironmentFactory",
    "default_environment_factory",
    "FACTORY_VARIABLE",
]


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
    timeline: Timeline

    def start(self) -> None: ...

    def check_invariants(self) -> list[str]: ...

    def collect_artifacts(self, directory: Path) -> list[Path]: ...

    def summary(self) -> dict[str, Any]: ...

    def observations(self) -> dict[str, Any]: ...

    def service_logs(self) -> dict[str, str]: ...

    def recoveries(self) -> list[dict[str, Any]]: ...

    def close(self, fast: bool = False) -> None: ...


EnvironmentFactory = Callable[[EnvironmentRequest], ManagedEnvironment]


FACTORY_VARIABLE = "XMTPD_E2E_ENVIRONMENT_FACTORY"


def default_environment_factory() -> EnvironmentFactory:
    """The real environment, or the factory named by ``XMTPD_E2E_ENVIRONMENT_FACTORY``
    (``module:callable``) -- how the runner's own tests substitute a fake environment."""
    configured = os.environ.get(FACTORY_VARIABLE)
    if configured:
        module, _, name = configured.partition(":")
        try:
            factory: EnvironmentFactory = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            raise SetupError(
                f"{FACTORY_VARIABLE}={configured!r} cannot be loaded: {error}",
                "set it to module:callable, or unset it to use the real environment",
            ) from error
        return factory
    return _create_real_environment


def _create_real_environment(request: EnvironmentRequest) -> ManagedEnvironment:
    """The real environment, its module imported at the first one (over a second: the chain
    client's web3), so the runner has announced the scenario and checked its needs by then."""
    from xmtpd_e2e.api.environment import create_environment

    return create_environment(request)
