"""Labels on every Docker object the framework creates, so a run's leftovers can be found."""

from __future__ import annotations

__all__ = ["RUN", "ENV", "SERVICE", "ROLE", "COMPOSE_PROJECT", "labels_for"]

RUN = "xmtpd-e2e.run"
ENV = "xmtpd-e2e.env"
SERVICE = "xmtpd-e2e.service"
ROLE = "xmtpd-e2e.role"
COMPOSE_PROJECT = "com.docker.compose.project"


def labels_for(run_id: str, env_id: str, network: str, **extra: str) -> dict[str, str]:
    return {RUN: run_id, ENV: env_id, COMPOSE_PROJECT: network, **extra}
