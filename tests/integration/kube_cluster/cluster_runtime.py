"""A kubernetes runtime on the local cluster with the local images, for tests that start pods
directly (no environment around them); closed, with its namespace, on leaving."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from xmtpd_e2e.config import RunConfig, local_images
from xmtpd_e2e.runner.cleanup import run_record
from xmtpd_e2e.runtime.kubernetes.runtime import KubernetesRuntime


@contextmanager
def local_cluster_runtime(tmp_path: Path, name: str) -> Iterator[tuple[KubernetesRuntime, RunConfig]]:
    config = replace(RunConfig(runtime="kubernetes"), images=local_images())
    logger = logging.getLogger(name)
    with run_record(tmp_path / "home", logger=logger) as state:
        runtime = KubernetesRuntime(
            state,
            "e1",
            tmp_path / "logs",
            logger,
            images=config.images,
            xmtpd_version=config.xmtpd_version,
        )
        try:
            yield runtime, config
        finally:
            runtime.close(fast=True)
