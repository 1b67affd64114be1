"""Redis, which gateways need for their blockchain nonce manager."""

from __future__ import annotations

from dataclasses import dataclass

from xmtpd_e2e.runtime.base import RunningService, Runtime, ServiceSpec

__all__ = ["RedisEndpoints", "start_redis", "REDIS_PORT"]

REDIS_PORT = 6379
ALIAS = "redis"


@dataclass(frozen=True)
class RedisEndpoints:
    service: RunningService
    internal_url: str


def start_redis(runtime: Runtime, image: str) -> RedisEndpoints:
    port = runtime.listen_port(ALIAS, REDIS_PORT)
    spec = ServiceSpec(
        name=ALIAS,
        role="redis",
        image=image,
        command=(
            "redis-server",
            "--port",
            str(port),
            "--bind",
            runtime.bind_address,
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ),
        ports=(port,),
        ready_log="Ready to accept connections",
        ready_timeout=30,
    )
    service = runtime.start(spec)
    return RedisEndpoints(service, f"redis://{runtime.internal_address(ALIAS, REDIS_PORT)}/0")
