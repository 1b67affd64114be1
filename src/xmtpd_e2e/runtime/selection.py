"""Choosing the runtime for an environment: ``docker``, ``local``, or ``auto``.

``auto`` uses Docker when an engine answers and falls back to host processes otherwise, so the
same command works on a laptop without Docker and in CI with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runner.state import RunState
from xmtpd_e2e.runtime.base import Runtime

__all__ = ["select_runtime", "docker_engine_answers", "local_binary_resolver"]


def docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def local_binary_resolver(config: RunConfig) -> Callable[[str], Path]:
    from xmtpd_e2e.infra.binaries import resolve_binary

    overrides = {"replication": config.xmtpd_bin, "gateway": config.gateway_bin}

    def resolve(name: str) -> Path:
        return resolve_binary(name, version=config.xmtpd_version, override=overrides.get(name))

    return resolve


def select_runtime(
    config: RunConfig, run_state: RunState, env_id: str, log_dir: Path, logger: logging.Logger
) -> Runtime:
    choice = config.runtime
    if choice not in ("auto", "docker", "local"):
        raise SetupError(f"unknown runtime {choice!r}", "use --runtime auto, docker or local")
    if choice == "auto":
        choice = "docker" if docker_engine_answers() else "local"
        logger.info("runtime auto -> %s", choice)
    if choice == "local":
        from xmtpd_e2e.runtime.local import LocalRuntime

        return LocalRuntime(run_state, env_id, log_dir, local_binary_resolver(config), logger)
    if not docker_engine_answers():
        raise SetupError(
            "no Docker engine answers (or this user may not use it)",
            "start one (`scripts/setup` starts dockerd when run as root), add yourself to the "
            "docker group, or use --runtime local",
        )
    from xmtpd_e2e.runtime.docker import DockerRuntime

    return DockerRuntime(run_state, env_id, log_dir, logger)

