"""The Environment: one isolated xmtpd cluster per scenario, and the API scenarios are written in.

It owns a runtime (docker or local), the base services (anvil with the XMTP contracts, toxiproxy,
Redis), the chain client and key manager, the per-node databases and the handles.  Scenarios
call its methods; the runner drives its lifecycle (``start`` -> scenario -> ``check_invariants``
-> ``collect_artifacts`` -> ``close``).
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from xmtpd_e2e.api.chain_faults import ChainFaults
from xmtpd_e2e.api.client_handle import ClientHandle
from xmtpd_e2e.api.database_faults import DatabaseFaults
from xmtpd_e2e.api.faults import EnvironmentFaults, ParticipantRef
from xmtpd_e2e.api.gateway_handle import GatewayHandle
from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.api.recoveries import RunRecoveries
from xmtpd_e2e.api.require import Require
from xmtpd_e2e.api.starter_threads import StarterThreads
from xmtpd_e2e.api.validation_handle import ValidationHandle, missing_validation, validation_starter
from xmtpd_e2e.chain.client import Chain, RateOptions
from xmtpd_e2e.chain.keys import Key, KeyManager
from xmtpd_e2e.client.ledger import PublishLedger
from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import CheckFailed, E2EError
from xmtpd_e2e.faults.controller import Fault, FaultController
from xmtpd_e2e.faults.namespace import has_own_namespace, tcp_sockets
from xmtpd_e2e.observe.invariants import InvariantReport, check_invariants
from xmtpd_e2e.observe.observer import NodeObserver
from xmtpd_e2e.observe.report_schedule import next_firing
from xmtpd_e2e.observe.sampler import NodeSampler
from xmtpd_e2e.progress import Progress
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.base import PostgresAccess, RunningService, Runtime, ServiceState
from xmtpd_e2e.runtime.registry import RuntimeRequest, create_runtime
from xmtpd_e2e.services.chain import ChainEndpoints, start_chain
from xmtpd_e2e.services.chaos import ChaosController, start_toxiproxy
from xmtpd_e2e.services.gateway import GATEWAY_API_PORT, GatewayConfig, gateway_spec
from xmtpd_e2e.services.node import (
    NO_VALIDATION_SERVICE,
    NODE_API_PORT,
    NODE_COMMAND,
    NodeConfig,
    database_dsn,
    node_spec,
)
from xmtpd_e2e.services.node_database_template import NodeDatabaseTemplate
from xmtpd_e2e.services.xmtpd_env import chain_env
from xmtpd_e2e.services.postgres import Databases, check_postgres, dsn_with
from xmtpd_e2e.services.redis import RedisEndpoints, start_redis
from xmtpd_e2e.services.validation import ValidationEndpoints
from xmtpd_e2e.timeline import Timeline

if TYPE_CHECKING:
    from xmtpd_e2e.runner.lifecycle import EnvironmentRequest
    from xmtpd_e2e.services.postgres_server import EnvironmentPostgres
    from xmtpd_e2e.users.pool import UserPool
    from xmtpd_e2e.users.user import User

__all__ = ["Environment", "create_environment"]

T = TypeVar("T")
NODE_ID_INCREMENT = 100
GAS_FOR_NEW_KEYS = 1000 * 10**18
_env_counter = itertools.count(1)


class Environment:
    """See module docstring.  Construct with :func:`create_environment`."""

    def __init__(
        self,
        *,
        config: RunConfig,
        run_state: RunState,
        runtime: Runtime,
        env_id: str,
        work_dir: Path,
        logger: logging.Logger,
    ) -> None:
        self.config = config
        self.run_state = run_state
        self.runtime = runtime
        self.env_id = env_id
        self.work_dir = work_dir
        self.log = logger
        self.require = Require(logger)
        self.published = PublishLedger()
        self.timeline = Timeline()
        """Every phase, fault and service action of this environment, timed (see xmtpd_e2e.timeline)."""
        self.progress = Progress(logger=logger.getChild("progress"), timeline=self.timeline)
        """Where long waits of this environment report (terminal/log line and timeline span)."""
        self.sampler = NodeSampler(self._sample_sources, logger=logger)
        """Every node's envelope count and replication lag, about once a second while it runs."""
        self.recovery = RunRecoveries(self.timeline, self.nodes, self.published)
        """After each fault heals, how long until every node (and read node) has what was acknowledged."""
        self._release_progress: Callable[[], None] | None = None
        self.timings: dict[str, float] = {}
        self._nodes: dict[int, NodeHandle] = {}
        self._gateways: list[GatewayHandle] = []
        self._clients: dict[str, ClientHandle] = {}
        self._users: UserPool | None = None
        self._lock = threading.RLock()
        self._registration = threading.Lock()
        self._started = False
        self._closed = False
        self._teardown_complete = False
        self._last_invariants: InvariantReport | None = None
        self._chain_endpoints: ChainEndpoints | None = None
        self._redis: RedisEndpoints | None = None
        self._validation: ValidationHandle | None = None
        self._chaos: ChaosController | None = None
        self._chain: Chain | None = None
        self._keys: KeyManager | None = None
        self._postgres = PostgresAccess(config.postgres_dsn, config.postgres_dsn)
        self._databases = Databases(config.postgres_dsn, run_state, env_id)
        self._templates: dict[str, str | None] = {}
        self._template_lock = threading.Lock()
        self.faults = EnvironmentFaults(self, FaultController(self.timeline, logger.getChild("faults")))
        """Network and process faults (also reachable as env.partition, env.cut, node.pause...)."""
        self._starters = StarterThreads(f"{env_id}-start")
        self._after_close: list[Callable[[], None]] = []
        """Run last by close (an environment's own Postgres server: see use_durable_postgres)."""
        self.durable_postgres: EnvironmentPostgres | None = None
        """The environment's own durable Postgres server, once use_durable_postgres() made it."""
        self.chain_faults = ChainFaults(self)
        """One-shot chain events: a reorg, a jump of the chain's clock (xmtpd_e2e.api.chain_faults)."""
        self.database_faults = DatabaseFaults(self)
        """Faults of one node's database: sessions terminated, refused, slow path, disk full,
        and a crash of the environment's own server (see xmtpd_e2e.api.database_faults)."""

    # ==========================================================================================
    # lifecycle (driven by the runner)
    # ==========================================================================================
    def start(self) -> None:
        """Bring up the base services concurrently: anvil, toxiproxy and Redis."""
        with self._timed("base_services"):
            self._postgres = self.runtime.postgres(self.config.postgres_dsn)  # kubernetes: a pod of its own
            check_postgres(self._postgres.admin_dsn)
            self._databases = Databases(
                self._postgres.admin_dsn, self.run_state, self.env_id, disposable=self._postgres.disposable
            )
            images = self.config.images
            start_validation = validation_starter(self.config, self.runtime, self.log)
            chain, chaos, redis, validation = self._starters.run_all(
                [
                    lambda: start_chain(self.runtime, images.chain),
                    lambda: start_toxiproxy(self.runtime, images.toxiproxy, self.timeline),
                    lambda: start_redis(self.runtime, images.redis),
                    start_validation,
                ]
            )
            if validation is not None:
                self._validation = ValidationHandle(
                    cast(ValidationEndpoints, validation),
                    faults=self.faults,
                    logger=self.log.getChild("validation"),
                    timeline=self.timeline,
                )
            self._chain_endpoints = cast(ChainEndpoints, chain)
            self._chaos = cast(ChaosController, chaos)
            self._redis = cast(RedisEndpoints, redis)
            admin = KeyManager.admin_key()
            self._chain = Chain(self._chain_endpoints.host_rpc, admin)
            chain_client = self._chain
            self._keys = KeyManager(lambda address: chain_client.fund_gas(address, GAS_FOR_NEW_KEYS))
        self._started = True
        self._release_progress = self.progress.activate()
        self.sampler.start()
        self.log.info(
            "environment %s up on the %s runtime in %.1fs",
            self.env_id,
            self.runtime.name,
            self.timings["base_services"],
        )

    def close(self, fast: bool = False) -> None:
        """Tear down in reverse order: clients, gateways, nodes, base services, databases.

        Every step runs even if an earlier one failed; the first error is raised at the end.
        """
        if self._teardown_complete:
            return
        self._closed = True  # no new services from here on; a fast close may follow a graceful one
        errors: list[BaseException] = []

        def attempt(step: Callable[[], None]) -> None:
            try:
                step()
            except BaseException as exc:  # teardown must go on
                errors.append(exc)

        attempt(self.runtime.begin_teardown)  # the stops below are the end: nothing is kept for a restart
        attempt(lambda: self.recovery.stop(last_look=not fast))  # before the teardown's heal, not measured
        attempt(self.sampler.stop)
        if self._release_progress is not None:
            attempt(self._release_progress)
        attempt(self.faults.heal)  # paused services must run again to stop gracefully
        self.timeline.finish_all("fault", ended_by="teardown")
        for client in list(self._clients.values()):
            attempt(client.close)
        if self._users is not None:
            attempt(self._users.close)
        attempt(lambda: self._stop_all([g.service for g in self._gateways], fast))
        attempt(lambda: self._stop_all([n.service for n in self._nodes.values()], fast))
        for node in self._nodes.values():
            attempt(node.observer.close)
        attempt(lambda: self.runtime.close(fast=fast))
        # A thread still starting a service (an interrupt can leave one behind) finds the runtime
        # closed and gives up; once it has, a second close removes anything it got to create.
        still_starting = self._starters.join(timeout=120)
        if still_starting:
            errors.append(E2EError(f"threads still starting services after 120 s: {', '.join(still_starting)}"))
        attempt(lambda: self.runtime.close(fast=True))
        attempt(self._databases.drop_all)
        for step in self._after_close:
            attempt(step)
        attempt(lambda: shutil.rmtree(self.work_dir, ignore_errors=True))
        self.run_state.forget("directory", str(self.work_dir))
        self._teardown_complete = True
        if errors:
            raise errors[0]

    def check_invariants(self) -> list[str]:
        """Global invariants over nodes that are up and canonical (see observe.invariants)."""
        if not self._nodes:
            return []
        canonical = set(self.chain.canonical_node_ids())
        observers = {
            node.id: node.observer for node in self._nodes.values() if node.is_running and node.id in canonical
        }
        report = check_invariants(observers, self.published.keys())
        self._last_invariants = report
        return report.violations

    def collect_artifacts(self, directory: Path) -> list[Path]:
        """Write everything needed to understand a failure without re-running it."""
        directory.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []

        def write(name: str, produce: Callable[[], Any]) -> None:
            path = directory / name
            try:
                content = produce()
                text = content if isinstance(content, str) else json.dumps(content, indent=2, default=str)
            except Exception as exc:  # an artifact failing must not hide the others
                text = f"could not collect {name}: {exc!r}\n"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)

        for name, service in self.runtime.services().items():
            write(f"logs/{name}.log", service.logs)
            namespace = _own_network_namespace(service)
            if namespace is not None:
                write(f"sockets/{name}.txt", functools.partial(tcp_sockets, namespace))
        if self._chaos is not None:
            write("toxiproxy.json", self._chaos.proxies)
        for node in self._nodes.values():
            write(f"nodes/{node.alias}.json", node.observer.snapshot)
        if self._chain is not None:
            write("chain.json", self._chain.facts)
        write("published.json", lambda: [e.as_dict() for e in self.published.all()])
        write("timeline.json", self.timeline.to_list)
        write("observations.json", self.observations)
        if self._last_invariants is not None:
            report = self._last_invariants
            write(
                "invariants.json",
                lambda: {
                    "violations": report.violations,
                    "missing": {str(k): v for k, v in report.missing.items()},
                },
            )
        write("summary.json", self.summary)
        if self._users is not None:
            write("users/history.json", self._users.history.to_dict)
            write("users/databases.txt", functools.partial(self._users.collect, directory / "users"))
        return written

    def observations(self) -> dict[str, Any]:
        """What was measured while the scenario ran, for results and the HTML report: the node
        samples (``samples``), the publish rate and failures over time (``publishing``) and, with
        real users, each user's lane: sent, received with latency, failed (``users``)."""
        users = {"users": self._users.observations()} if self._users is not None else {}
        return {"samples": self.sampler.to_dict(), "publishing": self.published.rate_series(), **users}

    def recoveries(self) -> list[dict[str, Any]]:
        """Each healed fault's recovery time so far (see xmtpd_e2e.api.recoveries)."""
        return self.recovery.to_list()

    def service_logs(self) -> dict[str, str]:
        """Every service's output so far, by service name."""
        logs: dict[str, str] = {}
        for name, service in self.runtime.services().items():
            try:
                logs[name] = service.logs()
            except Exception as error:  # one unreadable log must not hide the others
                logs[name] = f"could not read the log of {name}: {error!r}\n"
        return logs

    def _sample_sources(self) -> dict[str, NodeObserver]:
        with self._lock:
            return {node.alias: node.observer for node in self._nodes.values()}

    def summary(self) -> dict[str, Any]:
        return {
            **self.runtime.describe(),
            "run_id": self.run_state.run_id,
            "xmtpd_version": self.config.xmtpd_version,
            "images": self.config.images.__dict__ if self.runtime.runs_images else None,
            "nodes": [
                {"id": n.id, "alias": n.alias, "address": n.address, "state": n.state().value}
                for n in self._nodes.values()
            ],
            "gateways": [
                {"index": g.index, "alias": g.alias, "address": g.address, "state": g.state().value}
                for g in self._gateways
            ],
            "clients": [repr(c) for c in self._clients.values()],
            "mls_validation": (
                {"address": self._validation.internal_url, "state": self._validation.state().value}
                if self._validation
                else None
            ),
            "published_envelopes": len(self.published),
            "timings_seconds": {k: round(v, 3) for k, v in self.timings.items()},
        }

    # ==========================================================================================
    # nodes
    # ==========================================================================================
    def add_node(self, *, image: str | None = None, env: Mapping[str, str] | None = None) -> NodeHandle:
        """Register a node on chain (canonical), create its proxy and database, start it."""
        return self.add_nodes(1, image=image, env=env)[0]

    def add_nodes(
        self, count: int, *, image: str | None = None, env: Mapping[str, str] | None = None
    ) -> list[NodeHandle]:
        """Add ``count`` nodes: registered on chain in one batch (ids come from an on-chain
        counter, in nonce order), then their processes/containers start concurrently."""
        if count < 1:
            raise ValueError("count must be at least 1")
        self._require_started()
        span = f"[{len(self._nodes) + 1}..{len(self._nodes) + count}]"
        with self._timed(f"add_nodes{span}"):
            with self._timed(f"register_nodes{span}"):
                prepared = self._register_nodes(count, image or self.config.images.xmtpd, dict(env or {}))
            with self._timed(f"start_nodes{span}"):
                handles = self._starters.run_all([functools.partial(self._start_node, *args) for args in prepared])
        return handles

    def align_next_node_with_report_schedule(self, *, lead_seconds: float = 150.0, horizon: int = 60) -> int:
        """Make the next :meth:`add_node` get the node id whose payer-report generator fires
        soonest after ``lead_seconds`` from now, and return that id.

        xmtpd generates reports once per wall-clock hour at a minute derived from the node id
        (generator at minute ((id * 2654435761 mod 2**32) >> 16) mod 60), so a scenario that needs
        reports would otherwise idle up to an hour.  Ids
        come from an on-chain counter; this registers placeholder nodes (never canonical, so
        every xmtpd ignores them) to move the counter.  ``lead_seconds`` leaves room for the
        traffic to span the two distinct minutes a report needs.
        """
        self._require_started()
        chain = self.chain
        with self._registration:
            registered = len(chain.all_nodes())
            earliest = datetime.now(timezone.utc) + timedelta(seconds=lead_seconds)
            best = min(
                range(registered + 1, registered + 1 + horizon),
                key=lambda n: next_firing(n * NODE_ID_INCREMENT, earliest),
            )
            for _ in range(best - registered - 1):
                placeholder = Key.generate()
                chain.register_node(placeholder.address, placeholder, "http://127.0.0.1:1")
        node_id = best * NODE_ID_INCREMENT
        self.log.info(
            "next node will be %d: its report generator fires at %s",
            node_id,
            next_firing(node_id, earliest).strftime("%H:%M UTC"),
        )
        return node_id

    def node(self, node_id: int) -> NodeHandle:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise E2EError(f"no node {node_id} in this environment; nodes: {sorted(self._nodes)}") from None

    def nodes(self) -> list[NodeHandle]:
        """All nodes, in creation order."""
        return list(self._nodes.values())

    def _register_nodes(
        self, count: int, image: str, env: dict[str, str]
    ) -> list[tuple[int, Key, str, Any, dict[str, str]]]:
        """Create each node's proxy, register all of them and make them canonical, each step
        in one batch of transactions; the ids are predicted to name the proxies, then checked."""
        chain, chaos = self.chain, self._require(self._chaos)
        with self._registration:
            keys = [self.keys.next_node_key() for _ in range(count)]
            first = len(chain.all_nodes()) + 1
            node_ids = [(first + i) * NODE_ID_INCREMENT for i in range(count)]
            proxies = [
                chaos.create_proxy(f"node-{node_id}", self.runtime.internal_address(f"node-{node_id}", NODE_API_PORT))
                for node_id in node_ids
            ]
            registered = chain.register_nodes(
                [
                    (key.address, key, f"http://{proxy.internal_address}")
                    for key, proxy in zip(keys, proxies, strict=True)
                ]
            )
            if registered != node_ids:
                raise E2EError(f"expected the chain to assign node ids {node_ids}, it assigned {registered}")
            chain.add_all_to_canonical_network(node_ids)
        return [(node_id, key, image, proxy, env) for node_id, key, proxy in zip(node_ids, keys, proxies, strict=True)]

    def _start_node(self, node_id: int, key: Key, image: str, proxy: Any, env: dict[str, str]) -> NodeHandle:
        alias = f"node-{node_id}"
        db_name = self._databases.name_for(alias)
        self._databases.reset(db_name)
        template = self._node_database_template(image)
        if template is not None and not self._databases.create_from(db_name, template):
            self.log.warning("%s: copying %s failed; the node migrates its own database", alias, template)
        config = NodeConfig(
            node_id=node_id,
            alias=alias,
            signer_private_key=key.private_key,
            image=image,
            db_name=db_name,
            version=self.config.xmtpd_version,
            env_overrides=env,
            mls_validation_url=self._validation.internal_url if self._validation else NO_VALIDATION_SERVICE,
        )
        spec = node_spec(self.runtime, config, self._require(self._chain_endpoints), self._postgres.service_dsn)
        service = self.runtime.start(spec)
        observer = NodeObserver(dsn_with(self._postgres.admin_dsn, database=db_name))
        handle = NodeHandle(
            node_id=node_id,
            alias=alias,
            key=key,
            service=service,
            proxy=proxy,
            chaos=self._require(self._chaos),
            chain=self.chain,
            faults=self.faults,
            observer=observer,
            db_name=db_name,
            logger=self.log.getChild(alias),
            timeline=self.timeline,
            on_reader=self.recovery.reading,
        )
        with self._lock:
            self._nodes[node_id] = handle
            self._nodes = dict(sorted(self._nodes.items()))
        self.log.info("%s ready at %s", alias, handle.endpoint)
        return handle

    def _node_database_template(self, image: str) -> str | None:
        """The migrated database nodes of ``image`` start from, made on first use; None when the
        runtime cannot make one or the databases are not on the shared server (see
        :mod:`xmtpd_e2e.services.node_database_template`)."""
        if self._databases.disposable:
            return None
        with self._template_lock:
            if image not in self._templates:
                self._templates[image] = self._make_node_database_template(image)
            return self._templates[image]

    def _make_node_database_template(self, image: str) -> str | None:
        migrator = self.runtime.node_migrator(NODE_COMMAND, image)
        if migrator is None:
            return None
        chain = self._require(self._chain_endpoints)
        if migrator.on_host:
            chain = replace(chain, internal_rpc=chain.host_rpc, internal_ws=chain.host_rpc.replace("http", "ws", 1))
            dsn = self._postgres.admin_dsn
        else:
            dsn = database_dsn(self.runtime, self._postgres.service_dsn)
        node_env = {
            **chain_env(chain),
            "VERSION": self.config.xmtpd_version,
            "XMTPD_API_ENABLE": "true",
            "XMTPD_MLS_VALIDATION_GRPC_ADDRESS": NO_VALIDATION_SERVICE,
            "XMTPD_DB_WRITER_CONNECTION_STRING": dsn,
        }
        with self._timed("node_database_template"):
            return NodeDatabaseTemplate(self._postgres.admin_dsn, migrator, node_env, self.log).ensure()

    # ==========================================================================================
    # gateways
    # ==========================================================================================
    def add_gateway(
        self,
        *,
        alias: str | None = None,
        image: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> GatewayHandle:
        """Start a gateway (alias ``gateway-<index>`` unless given) with its own payer key."""
        self._require_started()
        chaos = self._require(self._chaos)
        with self._lock:
            index = len(self._gateways)
            name = alias or f"gateway-{index}"
            if any(g.alias == name for g in self._gateways):
                raise E2EError(f"a gateway named {name!r} already exists")
        with self._timed(f"add_gateway[{name}]"):
            key = self.keys.next_gateway_key()
            proxy = chaos.create_proxy(name, self.runtime.internal_address(name, GATEWAY_API_PORT))
            config = GatewayConfig(
                index=index,
                alias=name,
                payer_private_key=key.private_key,
                image=image or self.config.images.gateway,
                env_overrides=dict(env or {}),
            )
            spec = gateway_spec(self.runtime, config, self._require(self._chain_endpoints), self._require(self._redis))
            service = self.runtime.start(spec)
        handle = GatewayHandle(
            index=index,
            alias=name,
            key=key,
            service=service,
            proxy=proxy,
            chaos=chaos,
            chain=self.chain,
            faults=self.faults,
            logger=self.log.getChild(name),
            timeline=self.timeline,
        )
        with self._lock:
            self._gateways.append(handle)
        return handle

    def gateway(self, index: int) -> GatewayHandle:
        try:
            return self._gateways[index]
        except IndexError:
            raise E2EError(f"no gateway {index}; this environment has {len(self._gateways)}") from None

    def gateways(self) -> list[GatewayHandle]:
        return list(self._gateways)

    # ==========================================================================================
    # clients
    # ==========================================================================================
    def new_client(
        self,
        node_id: int | None = None,
        *,
        via_gateway: int | None = None,
        payer_key: Key | str | None = None,
        name: str | None = None,
        publish_timeout: float | None = None,
    ) -> ClientHandle:
        """A client publishing to node ``node_id`` directly (signing as its own payer, with
        ``payer_key`` or the default client key), or through gateway ``via_gateway``.

        ``publish_timeout``: seconds one publish request may take before it fails with
        DEADLINE_EXCEEDED (default 35 s to a node, 60 s to a gateway, which retries nodes itself).
        """
        from xmtpd_e2e.client.publisher import DirectPublisher, GatewayPublisher

        if (node_id is None) == (via_gateway is None):
            raise E2EError("new_client needs exactly one of node_id or via_gateway")
        key = self._payer_key(payer_key)
        if node_id is not None:
            node = self.node(node_id)
            client_name = name or self._unique_client_name(f"client-{node_id}")
            publisher: Any = DirectPublisher(
                resolve_address=lambda: node.endpoint,
                node_id=node_id,
                key=key,
                ledger=self.published,
                client_name=client_name,
                timeout=publish_timeout,
            )
        else:
            assert via_gateway is not None
            gateway = self.gateway(via_gateway)
            client_name = name or self._unique_client_name(f"client-{gateway.alias}")
            publisher = GatewayPublisher(
                resolve_address=lambda: gateway.endpoint,
                gateway_alias=gateway.alias,
                payer_address=gateway.address,
                ledger=self.published,
                client_name=client_name,
                timeout=publish_timeout,
            )
        client = ClientHandle(
            name=client_name,
            key=key,
            publisher=publisher,
            chain=self.chain,
            logger=self.log.getChild(client_name),
            node_id=node_id,
            gateway_index=via_gateway,
        )
        with self._lock:
            self._clients[client_name] = client
        return client

    def client(self, which: int | str) -> ClientHandle:
        """A client by name, or the first client targeting node ``which``."""
        with self._lock:
            if isinstance(which, str) and which in self._clients:
                return self._clients[which]
            for client in self._clients.values():
                if client.node_id == which:
                    return client
        raise E2EError(f"no client {which!r}; clients: {list(self._clients)}")

    def new_user(self, *, node: int, gateway: int = 0, name: str | None = None, timeout: float = 60.0) -> User:
        """A real XMTP user (a libxmtp client) reading from node ``node`` and writing through
        gateway ``gateway``, both through their proxies; registered and visible on the network
        when this returns, or an error after ``timeout`` seconds (see xmtpd_e2e.users)."""
        return self.users.new_user(node=node, gateway=gateway, name=name, timeout=timeout)

    @property
    def users(self) -> UserPool:
        """This environment's real users and their history (created on first use)."""
        from xmtpd_e2e.users.pool import UserPool

        self._require_started()
        with self._lock:
            if self._users is None:
                self._users = UserPool(
                    directory=self.work_dir / "users",
                    resolve_node=self.node,
                    resolve_gateway=self.gateway,
                    logger=self.log.getChild("users"),
                )
            return self._users

    def clients(self) -> list[ClientHandle]:
        return list(self._clients.values())

    def new_payer_key(self) -> Key:
        """The next payer identity: the default client key first, then fresh funded keys."""
        return self.keys.next_client_key()

    def _payer_key(self, payer_key: Key | str | None) -> Key:
        if payer_key is None:
            return KeyManager.default_client_key()
        if isinstance(payer_key, str):
            return Key.from_hex(payer_key)
        return payer_key

    def _unique_client_name(self, base: str) -> str:
        with self._lock:
            if base not in self._clients:
                return base
            for n in itertools.count(2):
                if f"{base}-{n}" not in self._clients:
                    return f"{base}-{n}"
        raise AssertionError("unreachable")

    # ==========================================================================================
    # chain operations: on-chain, rate, payer and settlement operations
    # ==========================================================================================
    @property
    def chain(self) -> Chain:
        return self._require(self._chain)

    @property
    def keys(self) -> KeyManager:
        return self._require(self._keys)

    def add_node_to_canonical_network(self, node_id: int) -> None:
        self.chain.add_to_canonical_network(node_id)

    def remove_node_from_canonical_network(self, node_id: int) -> None:
        self.chain.remove_from_canonical_network(node_id)

    def update_rates(self, options: RateOptions) -> None:
        self.chain.update_rates(options)

    def fund_payer(self, address: str, amount: int) -> None:
        self.chain.fund_payer(address, amount)

    def mint_fee_token(self, amount: int) -> None:
        self.chain.mint_fee_token(amount)

    def deposit_payer(self, address: str, amount: int) -> None:
        self.chain.deposit_payer(address, amount)

    def get_payer_balance(self, address: str) -> int:
        return self.chain.payer_balance(address)

    def get_fee_token_balance(self, address: str) -> int:
        return self.chain.fee_token_balance(address)

    def get_gas_balance(self, address: str) -> int:
        return self.chain.gas_balance(address)

    def request_payer_withdrawal(self, payer_key: Key, amount: int) -> None:
        self.chain.request_payer_withdrawal(payer_key, amount)

    def cancel_payer_withdrawal(self, payer_key: Key) -> None:
        self.chain.cancel_payer_withdrawal(payer_key)

    def finalize_payer_withdrawal(self, payer_key: Key, recipient: str) -> None:
        self.chain.finalize_payer_withdrawal(payer_key, recipient)

    def send_excess_to_fee_distributor(self) -> int:
        return self.chain.send_excess_to_fee_distributor()

    def get_payer_registry_excess(self) -> int:
        return self.chain.payer_registry_excess()

    def get_distribution_manager_owed_fees(self, node_id: int) -> int:
        return self.chain.distribution_owed_fees(node_id)

    def claim_from_distribution_manager(
        self, node_owner_key: Key, node_id: int, originator_node_ids: Sequence[int], report_indices: Sequence[int]
    ) -> int:
        return self.chain.claim_from_distribution_manager(
            node_owner_key, node_id, list(originator_node_ids), list(report_indices)
        )

    def withdraw_from_distribution_manager(self, node_owner_key: Key, node_id: int) -> int:
        return self.chain.withdraw_from_distribution_manager(node_owner_key, node_id)

    def advance_chain_time(self, seconds: int) -> None:
        """Move anvil's clock forward (waiting periods are crossed explicitly, never slept)."""
        self.chain.increase_time(seconds)

    # ==========================================================================================
    # faults (see xmtpd_e2e.api.faults; node and gateway handles offer the per-service ones)
    # ==========================================================================================
    def partition(self, *groups: Iterable[ParticipantRef]) -> Fault:
        """Two-way partition between ``groups`` (unnamed nodes and gateways form one more group)."""
        return self.faults.partition(*groups)

    def cut(self, source: ParticipantRef, destination: ParticipantRef) -> Fault:
        """One-way cut: ``source`` can no longer reach ``destination``; the reverse still works."""
        return self.faults.cut(source, destination)

    def add_packet_loss(self, percent: float, between: Sequence[ParticipantRef]) -> Fault:
        """Random loss of ``percent`` % of the packets between two participants, both ways."""
        return self.faults.add_packet_loss(percent, between)

    def heal(self) -> None:
        """End every fault begun through the fault API (partitions, cuts, loss, shaping, pauses)."""
        self.faults.heal()

    @property
    def chaos_service(self) -> RunningService:
        """The toxiproxy service every node's and gateway's proxy lives in."""
        return self._require(self._chaos).service

    @property
    def validation(self) -> ValidationHandle:
        """The MLS validation service every node is given; raises, saying how to configure one,
        in an environment without it."""
        if self._validation is None:
            raise missing_validation(self.config, self.runtime)
        return self._validation

    @property
    def has_validation(self) -> bool:
        """Whether this environment runs the MLS validation service."""
        return self._validation is not None

    @property
    def chain_service(self) -> RunningService:
        """The anvil service."""
        return self._require(self._chain_endpoints).service

    def use_durable_postgres(self) -> EnvironmentPostgres:
        """Put this environment's node databases on a Postgres server of its own in the durable
        profile (fsync and synchronous commit on), which may be crashed
        (``env.database_faults.crash_server``) without touching other runs.  Call it before the
        first node is added; the server goes with the environment."""
        from xmtpd_e2e.services.postgres_server import EnvironmentPostgres

        self._require_started()
        if self._nodes:
            raise E2EError("use_durable_postgres() must come before the first node is added")
        if self._postgres.disposable:
            raise E2EError(
                f"the {self.runtime.name} runtime's environments already have a Postgres of their own "
                "(its default profile); the durable profile runs on the local and docker runtimes"
            )
        server = EnvironmentPostgres.create(self.run_state, self.env_id)
        self._after_close.append(server.remove)
        self._postgres = server.access()
        self._databases = Databases(server.admin_dsn, self.run_state, self.env_id, disposable=True)
        self.durable_postgres = server
        return server

    @property
    def postgres_service_dsn(self) -> str:
        """Postgres as services are told to dial it, before the runtime maps its host and port
        (``Runtime.reach_host_port``): the host's server, or on kubernetes the environment's own
        Postgres pod (another port than the host's)."""
        return self._postgres.service_dsn

    # ==========================================================================================
    # helpers
    # ==========================================================================================
    def wait_for_replication(self, *, timeout: float = 60.0) -> None:
        """Wait until every published envelope is on every running canonical node."""
        canonical = set(self.chain.canonical_node_ids())
        observers = {n.id: n.observer for n in self._nodes.values() if n.is_running and n.id in canonical}
        report = check_invariants(observers, self.published.keys(), timeout=timeout)
        violations = [v for v in report.violations if "missing" in v]
        if violations:
            raise CheckFailed("replication did not converge: " + "; ".join(violations))

    def _stop_all(self, services: Sequence[Any], fast: bool) -> None:
        running = [s for s in services if s.state() is ServiceState.RUNNING]
        if not running:
            return
        with ThreadPoolExecutor(max_workers=len(running)) as pool:
            for future in [pool.submit(s.stop, graceful=not fast, timeout=10.0) for s in running]:
                future.result()

    def _require_started(self) -> None:
        if not self._started or self._closed:
            raise E2EError("the environment is not running (start() not called, or already closed)")

    @staticmethod
    def _require(value: T | None) -> T:
        if value is None:
            raise E2EError("the environment is not started")
        return value

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            with self.timeline.span("phase", phase):
                yield
        finally:
            self.timings[phase] = time.monotonic() - began


def create_environment(request: EnvironmentRequest) -> Environment:
    """The runner's environment factory: pick the runtime and build an unstarted Environment."""
    env_id = f"e{next(_env_counter)}"
    work_dir = request.run_state.work_dir / env_id
    request.run_state.record("directory", str(work_dir))
    work_dir.mkdir(parents=True, exist_ok=True)
    logger = request.logger
    runtime = create_runtime(RuntimeRequest(request.config, request.run_state, env_id, work_dir / "logs", logger))
    return Environment(
        config=request.config,
        run_state=request.run_state,
        runtime=runtime,
        env_id=env_id,
        work_dir=work_dir,
        logger=logger,
    )


def _own_network_namespace(service: RunningService) -> str | None:
    """The service's network namespace when it has one of its own and this runner may enter it
    (root); None otherwise, or when the runtime cannot say (an artifact is not worth failing for)."""
    if os.geteuid() != 0:
        return None
    try:
        namespace = service.network_namespace()
    except Exception:
        return None
    if namespace is None or not has_own_namespace(namespace):
        return None
    return str(namespace)
