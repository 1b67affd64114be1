"""pytest plugin (entry point ``pytest11``): the ``xmtpd_env`` fixture.

Teams can write e2e tests as ordinary pytest tests and get pytest's selection, reporting and
assertion messages, with the same environment lifecycle as ``xmtpd-e2e run``: a fresh started
environment per test, global invariants checked at teardown, and teardown always::

    def test_replication(xmtpd_env):
        xmtpd_env.add_nodes(3)
        xmtpd_env.new_client(100).publish_envelopes(10)
        xmtpd_env.wait_for_replication()
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from xmtpd_e2e.config import AUTO_RUNTIME, RunConfig

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment

__all__ = ["pytest_addoption", "pytest_runtest_makereport", "xmtpd_env", "xmtpd_config"]

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("xmtpd-e2e")
    from xmtpd_e2e.runtime.registry import RUNTIMES

    group.addoption(
        "--xmtpd-runtime", default=AUTO_RUNTIME, choices=RUNTIMES.choices(), help="runtime for the xmtpd_env fixture"
    )
    group.addoption(
        "--xmtpd-image-set",
        default="auto",
        choices=("auto", "upstream", "local"),
        help="container images for the docker runtime (auto: upstream's if present or pullable, "
        "else the locally built ones)",
    )
    group.addoption("--xmtpd-artifacts", default="artifacts", help="where failed tests' artifacts go")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the test body's outcome, so the fixture's teardown knows whether the test failed."""
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.fixture()
def xmtpd_config(request: pytest.FixtureRequest) -> RunConfig:
    option: Any = request.config.option
    from xmtpd_e2e.runtime.image_sets import images_for_run

    config = RunConfig(runtime=option.xmtpd_runtime, artifacts_dir=Path(option.xmtpd_artifacts).resolve())
    images = images_for_run(
        option.xmtpd_image_set, config.runtime, config.xmtpd_version, logging.getLogger("xmtpd_e2e.pytest").info
    )
    return replace(config, images=images)


@pytest.fixture()
def xmtpd_env(request: pytest.FixtureRequest, xmtpd_config: RunConfig) -> Iterator[Environment]:
    from xmtpd_e2e.api.environment import create_environment
    from xmtpd_e2e.runner.cleanup import run_record
    from xmtpd_e2e.runner.lifecycle import EnvironmentRequest
    from xmtpd_e2e.runner.scenario import ScenarioInfo

    name = request.node.name
    logger = logging.getLogger(f"xmtpd_e2e.scenario.{name}")
    # Every way out, a set-up error included, finishes the run's record.
    with run_record(xmtpd_config.home, logger=logger) as state:
        info = ScenarioInfo(name=name, description=str(request.node.nodeid), func=lambda env: None)
        artifacts = xmtpd_config.artifacts_dir / state.run_id / name
        env = create_environment(EnvironmentRequest(info, xmtpd_config, state, logger, artifacts))
        try:
            env.start()
            yield env
            call = request.node.stash.get(_CALL_REPORT, None)
            if call is not None and call.failed:
                paths = env.collect_artifacts(artifacts)
                logger.error("test failed; %d artifact(s) in %s", len(paths), artifacts)
            else:
                violations = env.check_invariants()
                if violations:
                    env.collect_artifacts(artifacts)
                    pytest.fail("global invariants violated: " + "; ".join(violations), pytrace=False)
        except BaseException:
            env.collect_artifacts(artifacts)
            raise
        finally:
            env.close()
