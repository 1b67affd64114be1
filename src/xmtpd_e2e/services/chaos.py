"""Network fault injection through a real toxiproxy.

Every node registers its *proxy's* address on chain, so every node-to-node sync stream and every
gateway-to-node publish to that node crosses its proxy (a client of the framework publishes to the
node's own port and bypasses it).  Toxics sit on the downstream
direction of the target's proxy: a toxic on node X degrades how others receive X's envelopes.

Unlike upstream (``toxiproxy-cli toggle``), :meth:`ChaosController.set_enabled` is idempotent:
disabling twice leaves the proxy disabled.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from xmtpd_e2e.errors import ServiceError
from xmtpd_e2e.runtime.base import RunningService, Runtime, ServiceSpec
from xmtpd_e2e.timeline import Timeline

__all__ = ["ChaosController", "ProxyInfo", "start_toxiproxy", "TOXIPROXY_API_PORT", "TOXIC_SUFFIXES"]

TOXIPROXY_API_PORT = 8474
FIRST_LISTENER_PORT = 20000
"""Proxy listeners take the well-known ports 20000, 20001, ... as proxies are created, without
limit: none is reserved or published when toxiproxy starts.  The framework reaches a gateway's
proxy through ``RunningService.host_address``, which on docker falls back to the container's
address on the environment network for ports that are not published."""
ALIAS = "toxiproxy"
TOXIC_SUFFIXES = ("latency", "bandwidth", "reset", "timeout")
REMOVAL_GRACE_S = 10
"""How long a toxic removal may take beyond the toxic's own ``timeout`` attribute."""
SETTLE_AFTER_REMOVAL_S = 0.2


class ServiceTimeout(ServiceError):
    """Toxiproxy's API took longer than the call allows (it may be deadlocked)."""


@dataclass(frozen=True)
class ProxyInfo:
    name: str
    listen: str
    upstream: str
    internal_address: str
    """``host:port`` other services dial to go through the proxy (registered on chain)."""
    listen_port: int
    """The listener port inside toxiproxy's namespace (host-reachable via the service)."""


def _version_answers(service: RunningService) -> bool:
    return requests.get(service.host_url(service.spec.ports[0]) + "/version", timeout=2).ok


def start_toxiproxy(runtime: Runtime, image: str, timeline: Timeline | None = None) -> ChaosController:
    port = runtime.listen_port(ALIAS, TOXIPROXY_API_PORT)
    spec = ServiceSpec(
        name=ALIAS,
        role="chaos",
        image=image,
        command=("toxiproxy-server", "-host", runtime.bind_address, "-port", str(port)),
        ports=(port,),
        ready_log="Starting Toxiproxy HTTP server",
        ready_check=_version_answers,
        ready_timeout=60,
    )
    service = runtime.start(spec)
    return ChaosController(runtime, service, timeline)


class ChaosController:
    """Creates one proxy per node/gateway and adds or removes toxics on it.

    This is toxiproxy's mechanism only: the fault kinds of :mod:`xmtpd_e2e.faults.kinds.proxy`
    drive it through the environment's fault controller, which records each toxic and each
    disabled proxy on the timeline and heals them with ``env.heal()``.
    """

    def __init__(self, runtime: Runtime, service: RunningService, timeline: Timeline | None = None) -> None:
        self.timeline = timeline or Timeline()
        self._runtime = runtime
        self.service = service
        self._api = service.host_url(service.spec.ports[0])
        self._next_port = FIRST_LISTENER_PORT
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.trust_env = False  # never send loopback traffic through a proxy

    # -- proxies -------------------------------------------------------------------------
    def create_proxy(self, name: str, upstream: str) -> ProxyInfo:
        """A proxy named ``name`` forwarding to ``upstream`` (resolved per connection)."""
        with self._lock:
            well_known = self._next_port
            self._next_port += 1
        listen_port = self._runtime.listen_port(ALIAS, well_known)
        listen = f"{self._runtime.bind_address}:{listen_port}"
        self._call("post", "/proxies", json={"name": name, "listen": listen, "upstream": upstream, "enabled": True})
        return ProxyInfo(name, listen, upstream, self._runtime.internal_address(ALIAS, well_known), listen_port)

    def host_address(self, proxy: ProxyInfo) -> tuple[str, int]:
        """Where the framework on the host reaches the proxy's listener."""
        return self.service.host_address(proxy.listen_port)

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Enable or disable (close listener and connections = partition) a proxy; idempotent."""
        self._call("post", f"/proxies/{proxy}", json={"enabled": enabled})

    def is_enabled(self, proxy: str) -> bool:
        result = self._call("get", f"/proxies/{proxy}")
        return bool(result.get("enabled", True)) if isinstance(result, dict) else True

    def set_upstream(self, proxy: str, upstream: str) -> None:
        """Point ``proxy`` at ``upstream``; toxiproxy restarts the proxy, closing its connections."""
        self._call("post", f"/proxies/{proxy}", json={"upstream": upstream})

    def upstream(self, proxy: str) -> str:
        result = self._call("get", f"/proxies/{proxy}")
        return str(result.get("upstream", "")) if isinstance(result, dict) else ""

    def proxies(self) -> dict[str, Any]:
        """Every proxy with its toxics, as toxiproxy reports them (for artifacts)."""
        result = self._call("get", "/proxies")
        return dict(result) if isinstance(result, dict) else {}

    # -- toxics --------------------------------------------------------------------------
    def add_latency(self, proxy: str, latency_ms: int, jitter_ms: int = 0) -> None:
        self.add_toxic(proxy, "latency", "latency", {"latency": latency_ms, "jitter": jitter_ms})

    def add_bandwidth_limit(self, proxy: str, rate_kb_per_s: int) -> None:
        self.add_toxic(proxy, "bandwidth", "bandwidth", {"rate": rate_kb_per_s})

    def add_connection_reset(self, proxy: str, timeout_ms: int) -> None:
        self.add_toxic(proxy, "reset", "reset_peer", {"timeout": timeout_ms})

    def add_timeout(self, proxy: str, timeout_ms: int) -> None:
        """Stop all data; close after ``timeout_ms`` (0 = hold the connection forever)."""
        self.add_toxic(proxy, "timeout", "timeout", {"timeout": timeout_ms})

    def remove_all_toxics(self, proxy: str) -> None:
        """Remove every toxic on ``proxy``, newest first.

        The order matters.  Toxiproxy chains toxics in the order they were added and removes one
        by interrupting it and the toxic before it; a toxic that is blocked handing data to the
        next one cannot be interrupted.  A ``reset_peer`` toxic stops reading while it waits to
        reset, then never reads again, so removing anything *in front of* it on a busy
        connection blocks toxiproxy for good (every later API call on the proxy hangs; upstream
        Shopify/toxiproxy issue 558).  Taken from the end of the chain, each toxic hands its data
        straight to the connection's writer, and the connections a ``reset_peer`` or ``timeout``
        toxic ends are closed before the next removal starts.
        """
        chain = self.toxics(proxy)
        for toxic in reversed(chain):
            self._remove_toxic(proxy, toxic)

    def remove_toxic(self, proxy: str, suffix: str) -> None:
        """Remove the toxic ``suffix`` (``latency`` ...) of ``proxy``, only from the end of the
        chain (see :meth:`remove_all_toxics`): newer toxics come off first and go back after."""
        newer = self._take_off(proxy, f"{proxy}_{suffix}")
        self._put_back(proxy, newer or [])

    def _take_off(self, proxy: str, name: str) -> list[dict[str, Any]] | None:
        """Remove toxic ``name`` and every newer one, newest first; returns the newer ones (to put
        back), or None when ``proxy`` has no such toxic."""
        chain = self.toxics(proxy)
        position = next((i for i, toxic in enumerate(chain) if toxic.get("name") == name), None)
        if position is None:
            return None
        for toxic in reversed(chain[position:]):
            self._remove_toxic(proxy, toxic)
        return chain[position + 1 :]

    def _put_back(self, proxy: str, toxics: list[dict[str, Any]]) -> None:
        for toxic in toxics:
            self._post_toxic(proxy, toxic["name"], toxic["type"], dict(toxic.get("attributes") or {}))

    def has_toxic(self, proxy: str, suffix: str) -> bool:
        return any(toxic.get("name") == f"{proxy}_{suffix}" for toxic in self.toxics(proxy))

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        result = self._call("get", f"/proxies/{proxy}/toxics")
        return list(result) if isinstance(result, list) else []

    def add_toxic(self, proxy: str, suffix: str, kind: str, attributes: dict[str, int]) -> None:
        """Add a toxic, replacing one of the same kind in its place in the chain.

        A toxic is only ever removed from the end of the chain (see :meth:`remove_all_toxics`),
        so replacing one that has newer toxics after it takes those off first and puts them
        back, unchanged, after the replacement.
        """
        name = f"{proxy}_{suffix}"
        newer = self._take_off(proxy, name)
        self._post_toxic(proxy, name, kind, attributes)
        self._put_back(proxy, newer or [])

    def _post_toxic(self, proxy: str, name: str, kind: str, attributes: dict[str, int]) -> None:
        self._call(
            "post",
            f"/proxies/{proxy}/toxics",
            json={"name": name, "type": kind, "stream": "downstream", "toxicity": 1.0, "attributes": attributes},
        )

    def _remove_toxic(self, proxy: str, toxic: dict[str, Any]) -> None:
        """Delete one toxic; it must be the last in the chain (see :meth:`remove_all_toxics`).

        Removing a ``reset_peer`` toxic waits while it sleeps before its reset, so the request
        may take its whole timeout; past that (plus a grace period) toxiproxy is stuck for good.
        """
        name = toxic["name"]
        attributes = toxic.get("attributes") or {}
        budget = REMOVAL_GRACE_S + int(attributes.get("timeout", 0)) / 1000
        try:
            self._call("delete", f"/proxies/{proxy}/toxics/{name}", missing_ok=True, timeout=budget)
        except ServiceTimeout as exc:
            raise ServiceError(
                f"toxiproxy did not remove toxic {name!r} from proxy {proxy!r} within {budget:.0f} s and "
                "stopped answering for that proxy: toxiproxy deadlocks when a toxic is removed while data "
                "is stuck behind it (Shopify/toxiproxy issue 558). The proxy cannot change for the rest of "
                "this run; run the scenario again, and if it recurs report which toxics were on the proxy."
            ) from exc
        # Connections the removal closed (a timeout toxic closes its connections; a reset_peer
        # may have fired meanwhile) leave toxiproxy's bookkeeping only once the proxy is free.
        # Let them go before the next removal can find them half-dead.
        time.sleep(SETTLE_AFTER_REMOVAL_S)

    def _call(self, method: str, path: str, *, json: Any = None, missing_ok: bool = False, timeout: float = 10) -> Any:
        try:
            response = self._session.request(method, self._api + path, json=json, timeout=timeout)
        except requests.Timeout as exc:
            raise ServiceTimeout(f"toxiproxy API {method.upper()} {path} got no answer within {timeout:.0f} s") from exc
        except requests.RequestException as exc:
            raise ServiceError(f"toxiproxy API {method.upper()} {path} failed: {exc}") from exc
        if missing_ok and response.status_code == 404:
            return None
        if not response.ok:
            raise ServiceError(
                f"toxiproxy API {method.upper()} {path}: HTTP {response.status_code} {response.text.strip()}"
            )
        return response.json() if response.content else None
