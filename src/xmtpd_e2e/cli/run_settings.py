"""The run's settings from command-line choices, built the same way for ``run`` and ``explore``.

Why one builder: both commands pick images (an image set, then per-service overrides), place
artifacts and take log settings alike; built twice, the two drifted (explore once defaulted to
upstream images that cannot be pulled offline while ``run`` chose the local ones).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from xmtpd_e2e.cli.errors import fail_setup
from xmtpd_e2e.config import RunConfig, default_home
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.validation import check_validation_bin
from xmtpd_e2e.runtime.image_sets import images_for_run

__all__ = ["run_config"]


def run_config(
    cli_state: Mapping[str, Any],
    *,
    runtime: str,
    image_set: str,
    xmtpd_version: str,
    image_overrides: Mapping[str, str | None],
    xmtpd_bin: Path | None,
    gateway_bin: Path | None,
    postgres_dsn: str,
    artifacts: Path,
    say: Callable[[str], None],
    local_network: str = RunConfig.local_network,
    artifacts_always: bool = False,
    timeout: float | None = None,
    keep_logs_for_report: bool = False,
    kube_context: str | None = None,
    kube_access: str = RunConfig.kube_access,
    mls_validation_bin: Path | None = None,
    mls_validation_image: str | None = None,
) -> RunConfig:
    """Settings for a run: ``cli_state`` is the top-level command's (log level and encoding),
    ``image_overrides`` maps an :class:`~xmtpd_e2e.config.Images` field to the image given for
    it (None: the image set's), ``say`` reports which image set was chosen and why, and
    ``timeout`` (given by the user) overrides the scenarios' own budgets.  A validation service
    binary that was given but cannot be run ends the command here, before anything starts."""
    if mls_validation_bin is not None:
        try:
            mls_validation_bin = check_validation_bin(
                mls_validation_bin, "--mls-validation-bin or XMTPD_E2E_MLS_VALIDATION_BIN"
            )
        except SetupError as error:
            fail_setup(error)
    images = images_for_run(image_set, runtime, xmtpd_version, say)
    images = replace(images, **{field: image for field, image in image_overrides.items() if image})
    return RunConfig(
        runtime=runtime,
        local_network=local_network,
        images=images,
        xmtpd_bin=xmtpd_bin,
        gateway_bin=gateway_bin,
        postgres_dsn=postgres_dsn,
        home=default_home(),
        artifacts_dir=artifacts.resolve(),
        artifacts_always=artifacts_always,
        scenario_timeout=timeout or RunConfig.scenario_timeout,
        timeout_given=timeout is not None,
        log_level=cli_state["log_level"],
        log_encoding=cli_state["log_encoding"],
        xmtpd_version=xmtpd_version,
        keep_logs_for_report=keep_logs_for_report,
        kube_context=kube_context,
        kube_access=kube_access,
        mls_validation_bin=mls_validation_bin,
        mls_validation_image=mls_validation_image,
    )
