"""NodeHandle: one xmtpd node of an environment -- lifecycle, chaos, chain and DB observation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from xmtpd_e2e.api.service_faults import ServiceFaults
from xmtpd_e2e.api.service_lifecycle import ServiceLifecycle
from xmtpd_e2e.observe.observer import (
    NodeObserver,
    PayerReportStatusCounts,
    PayerUsage,
    SettledReport,
)
from xmtpd_e2e.observe.report_schedule import GENERATOR, SETTLEMENT, SUBMITTER, next_firing
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.runtime.base import RunningService
from xmtpd_e2e.services.chaos import ChaosController, ProxyInfo
from xmtpd_e2e.timeline import Timeline

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.client.reader import EnvelopeReader
    from xmtpd_e2e.chain.client import Chain
    from xmtpd_e2e.chain.keys import Key

__all__ = ["NodeHandle"]


class NodeHandle(ServiceLifecycle, ServiceFaults):
    """A node as a scenario sees it.  Obtained from ``env.add_node()`` / ``env.node(id)``."""

    def __init__(
        self,
        *,
        node_id: int,
        alias: str,
        key: Key,
        service: RunningService,
        proxy: ProxyInfo,
        chaos: ChaosController,
        chain: Chain,
        faults: EnvironmentFaults | None = None,
        observer: NodeObserver,
        db_name: str,
        logger: logging.Logger,
        timeline: Timeline | None = None,
        on_reader: Callable[[NodeHandle], None] | None = None,
    ) -> None:
        self._on_reader = on_reader
        """Told of each reader made, so recovery times also wait for this node to serve everything."""
        self._id = node_id
        self._alias = alias
        self._key = key
        self._service = service
        self._proxy = proxy
        self._chaos = chaos
        self._chain = chain
        self._faults = faults
        self.observer = observer
        self._db_name = db_name
        self._log = logger
        self._timeline = timeline or Timeline()

    def __repr__(self) -> str:
        return f"NodeHandle({self._alias}, {self.state().value})"

    # -- identity ----------------------------------------------------------------------------
    @property
    def id(self) -> int:
        """On-chain node id (100, 200, ...)."""
        return self._id

    @property
    def alias(self) -> str:
        return self._alias

    @property
    def endpoint(self) -> str:
        """Host-reachable ``host:port`` of the node's API (re-read: it may change on restart)."""
        host, port = self._service.host_address(self._service.spec.ports[0])
        return f"{host}:{port}"

    @property
    def address(self) -> str:
        """The node's Ethereum address (signer = owner)."""
        return self._key.address

    @property
    def signer_key(self) -> str:
        return self._key.private_key

    @property
    def key(self) -> Key:
        return self._key

    @property
    def db_name(self) -> str:
        return self._db_name

    @property
    def db_connection_string(self) -> str:
        return self.observer.dsn

    @property
    def proxy(self) -> ProxyInfo:
        return self._proxy

    @property
    def service(self) -> RunningService:
        return self._service

    # -- on-chain ----------------------------------------------------------------------------
    def add_to_canonical_network(self) -> None:
        self._chain.add_to_canonical_network(self._id)

    def remove_from_canonical_network(self) -> None:
        self._chain.remove_from_canonical_network(self._id)

    def is_canonical(self) -> bool:
        return self._id in self._chain.canonical_node_ids()

    def get_fee_token_balance(self) -> int:
        """xUSD base units (6 decimals) held by the node owner."""
        return self._chain.fee_token_balance(self.address)

    def get_gas_balance(self) -> int:
        """Native balance of the node owner, in wei."""
        return self._chain.gas_balance(self.address)

    def get_distribution_owed_fees(self) -> int:
        return self._chain.distribution_owed_fees(self._id)

    def claim_fees(self, originator_node_ids: list[int], report_indices: list[int]) -> int:
        return self._chain.claim_from_distribution_manager(self._key, self._id, originator_node_ids, report_indices)

    def withdraw_fees(self) -> int:
        return self._chain.withdraw_from_distribution_manager(self._key, self._id)

    # -- database observation -----------------------------------------------------------------
    def get_envelope_count(self, *, client_only: bool = False) -> int:
        return self.observer.envelope_count(client_only=client_only)

    def get_vector_clock(self) -> dict[int, int]:
        return self.observer.vector_clock()

    def get_staged_envelope_count(self) -> int:
        return self.observer.staged_envelope_count()

    def get_payer_report_count(self) -> int:
        return self.observer.payer_report_count()

    def get_payer_report_status_counts(self) -> PayerReportStatusCounts:
        return self.observer.payer_report_status_counts()

    def get_unsettled_usage(self) -> list[PayerUsage]:
        return self.observer.unsettled_usage()

    def get_settled_payer_reports(self) -> list[SettledReport]:
        return self.observer.settled_payer_reports()

    def get_node_info(self) -> int | None:
        """The node id recorded in the node's own database."""
        return self.observer.node_id()

    def reader(self) -> EnvelopeReader:
        """Read this node as a user's app does (QueryEnvelopes by topic or cursor, SubscribeEnvelopes
        streams); it follows the node's address across restarts.  Close it when done."""
        from xmtpd_e2e.client.reader import EnvelopeReader

        if self._on_reader is not None:
            self._on_reader(self)
        return EnvelopeReader(lambda: self.endpoint)

    def envelope_keys(self, *, client_only: bool = True) -> set[tuple[int, int]]:
        """The (originator node id, sequence id) of every envelope this node has stored.

        Read from the node's own database.  ``client_only`` (the default) leaves out the payer
        reports and attestations nodes publish themselves; compare with ``env.published.keys()``,
        or with ``{(e.originator_node_id, e.sequence_id) for e in client.publish_envelopes(n)}``.
        """
        return self.observer.envelope_keys(client_only=client_only)

    def missing_envelopes(self, keys: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        """Which of ``keys`` (originator, sequence id) this node has not stored; empty if it has all."""
        return set(keys) - self.observer.envelope_keys(client_only=False)

    def has_envelopes(self, keys: Iterable[tuple[int, int]]) -> bool:
        """True if this node has stored every one of ``keys`` (originator, sequence id)."""
        return not self.missing_envelopes(keys)

    def wait_for_envelope_keys(self, keys: Iterable[tuple[int, int]], *, timeout: float = 60.0) -> None:
        """Wait until this node has stored every one of ``keys``; on timeout the error says how many
        are still missing and names a few."""
        wanted = set(keys)
        wait_until(
            lambda: self.missing_envelopes(wanted),
            lambda missing: not missing,
            timeout=timeout,
            description=f"{self._alias} to store {len(wanted)} given envelopes "
            "(last value: the (originator, sequence id) pairs still missing)",
            max_interval=0.5,
        )

    def wait_for_envelopes(self, minimum: int, *, timeout: float = 60.0, client_only: bool = False) -> int:
        """Wait until the node stores at least ``minimum`` envelopes; returns the count."""
        return wait_until(
            lambda: self.get_envelope_count(client_only=client_only),
            lambda count: count >= minimum,
            timeout=timeout,
            description=f"{self._alias} to store >= {minimum} envelopes",
            max_interval=0.5,
            detail=lambda count: f"{count}/{minimum} stored",
            targets=(self._alias,),
        )

    def wait_for_payer_reports(
        self,
        check: Callable[[PayerReportStatusCounts], bool],
        description: str,
        *,
        timeout: float = 600.0,
    ) -> PayerReportStatusCounts:
        return wait_until(
            self.get_payer_report_status_counts,
            check,
            timeout=timeout,
            description=f"{self._alias}: {description}",
            max_interval=2.0,
            detail=self._describe_reports,
            expected_at=lambda: next_worker_run(self._id),
            targets=(self._alias,),
        )

    def _describe_reports(self, counts: PayerReportStatusCounts) -> str:
        """The counts, and how far attestation of this node's newest unsettled report got."""
        text = describe_report_counts(counts)
        mine = [r for r in self.observer.report_attestations() if r.originator_node_id == self._id]
        if mine:
            report = mine[-1]
            text += (
                f"; report {len(mine)} (sequence {report.start_sequence_id}-{report.end_sequence_id}) "
                f"attested {report.signatures}/{report.nodes}, quorum {report.quorum}"
            )
        return text

    def next_report_worker_run(self) -> tuple[str, float]:
        """Which of this node's payer-report workers (generator, submitter, settlement) runs
        next, and when (Unix seconds): xmtpd runs each once an hour at a minute set by the node id."""
        return next_worker_run(self._id)


def next_worker_run(node_id: int) -> tuple[str, float]:
    now = datetime.now(timezone.utc)
    runs = [
        (next_firing(node_id, now, worker), name)
        for worker, name in ((GENERATOR, "report generator"), (SUBMITTER, "submitter"), (SETTLEMENT, "settlement"))
    ]
    when, name = min(runs)
    return f"node {node_id}'s {name}", when.timestamp()


def describe_report_counts(counts: PayerReportStatusCounts) -> str:
    """``2 reports: 1 approved, 1 submitted, 0 settled`` -- how far the report pipeline got."""
    if counts.total == 0:
        return "no payer report yet"
    noun = "report" if counts.total == 1 else "reports"
    return (
        f"{counts.total} {noun}: {counts.approved} approved, {counts.submitted} submitted, "
        f"{counts.settled} settled" + (f", {counts.rejected} rejected" if counts.rejected else "")
    )
