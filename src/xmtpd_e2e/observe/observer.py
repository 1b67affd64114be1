"""Direct, read-only queries on one node's database: the framework's source of truth.

Scenarios verify what a node *stored*, not what an API answered.  Envelope counts include the
payer reports and attestations nodes publish themselves, hence the ``client_only`` filters on the
topic kind; table names are those of xmtpd v1.2/v1.3 (the blob
table was renamed after v1.3.0, which :meth:`NodeObserver.envelope_bytes` tolerates).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

__all__ = [
    "NodeObserver",
    "PayerReportStatusCounts",
    "PayerUsage",
    "SettledReport",
    "ReportAttestations",
    "ReportUsage",
    "CLIENT_TOPIC_KINDS",
]

CONNECT_TIMEOUT = 30
"""Seconds to wait for a connection.  A busy server forks each backend slowly: with a 25-node
cluster polling its databases on a shared 2-core machine, 5 s expired (``bench/scale.py``)."""

CLIENT_TOPIC_KINDS = (0, 1, 2, 3)
"""Topic kinds published by clients; 4 and 5 are payer reports and attestations nodes publish."""

_ATTESTATION = {0: "pending", 1: "approved", 2: "rejected"}
_SUBMISSION = {0: "pending", 1: "submitted", 2: "settled", 3: "rejected"}


@dataclass(frozen=True)
class PayerReportStatusCounts:
    total: int
    attestation: dict[str, int]
    submission: dict[str, int]

    @property
    def approved(self) -> int:
        return self.attestation.get("approved", 0)

    @property
    def submitted(self) -> int:
        return self.submission.get("submitted", 0)

    @property
    def settled(self) -> int:
        return self.submission.get("settled", 0)

    @property
    def rejected(self) -> int:
        return self.submission.get("rejected", 0)


@dataclass(frozen=True)
class PayerUsage:
    address: str
    spend_picodollars: int
    message_count: int


@dataclass(frozen=True)
class SettledReport:
    originator_node_id: int
    report_index: int


@dataclass(frozen=True)
class ReportAttestations:
    """How many nodes have signed one payer report, as this node has seen it."""

    originator_node_id: int
    start_sequence_id: int
    end_sequence_id: int
    signatures: int
    nodes: int
    """Nodes active when the report was made; a submission needs a majority of them."""

    @property
    def quorum(self) -> int:
        return self.nodes // 2 + 1


@dataclass(frozen=True)
class ReportUsage:
    """What a node charged for the range of one of its payer reports, read before settlement
    deletes those usage rows: the numbers xmtpd puts in the report's merkle leaves."""

    report_id: str
    """Hex of ``payer_reports.id``, the report's digest (the chain's ``payerReportId``)."""
    originator_node_id: int
    picodollars_by_payer: dict[str, int]
    """Payer address (as stored) -> the sum of ``unsettled_usage.spend_picodollars`` in range."""


class NodeObserver:
    """Queries one node database; keeps one autocommit connection and reconnects on failure."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
                try:
                    return list(self._conn.execute(sql, params).fetchall())
                except psycopg.OperationalError:
                    self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> int:
        rows = self._rows(sql, params)
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    # -- envelopes ---------------------------------------------------------------------------
    def envelope_count(self, *, client_only: bool = False) -> int:
        """Rows of ``gateway_envelopes_meta``: every originator, incl. payer reports unless
        ``client_only`` (then only client topic kinds)."""
        if client_only:
            return self._scalar("SELECT count(*) FROM gateway_envelopes_meta WHERE get_byte(topic, 0) < 4")
        return self._scalar("SELECT count(*) FROM gateway_envelopes_meta")

    def envelope_keys(self, *, client_only: bool = True) -> set[tuple[int, int]]:
        """(originator, sequence id) of every stored envelope."""
        where = " WHERE get_byte(topic, 0) < 4" if client_only else ""
        rows = self._rows(f"SELECT originator_node_id, originator_sequence_id FROM gateway_envelopes_meta{where}")
        return {(int(o), int(s)) for o, s in rows}

    def client_envelope_rows(self) -> list[tuple[int, int, str, str | None]]:
        """(originator, sequence id, topic hex, payer address) of every stored client envelope.

        The topic identifies a client envelope independently of the sequence id a node gave it:
        the framework's clients use a fresh random group id, hence topic, per envelope.  So one
        topic under two keys is the same client envelope stored twice.
        """
        rows = self._rows(
            "SELECT m.originator_node_id, m.originator_sequence_id, encode(m.topic, 'hex'), p.address "
            "FROM gateway_envelopes_meta m LEFT JOIN payers p ON p.id = m.payer_id "
            "WHERE get_byte(m.topic, 0) < 4"
        )
        return [(int(o), int(s), str(t), None if a is None else str(a)) for o, s, t, a in rows]

    def sequence_ids(self) -> dict[int, list[int]]:
        """Originator -> every stored sequence id, ascending (all topic kinds: payer reports and
        attestations share their originator's sequence)."""
        rows = self._rows(
            "SELECT originator_node_id, originator_sequence_id FROM gateway_envelopes_meta "
            "ORDER BY originator_node_id, originator_sequence_id"
        )
        result: dict[int, list[int]] = {}
        for originator, sequence_id in rows:
            result.setdefault(int(originator), []).append(int(sequence_id))
        return result

    def envelope_bytes(self, originator_node_id: int, sequence_id: int) -> bytes | None:
        """The stored serialized OriginatorEnvelope, byte for byte."""
        for table in ("gateway_envelope_blobs", "gateway_envelopes_blob"):
            try:
                rows = self._rows(
                    f"SELECT originator_envelope FROM {table} "
                    "WHERE originator_node_id = %s AND originator_sequence_id = %s",
                    (originator_node_id, sequence_id),
                )
            except psycopg.errors.UndefinedTable:
                continue
            return bytes(rows[0][0]) if rows else None
        return None

    def vector_clock(self) -> dict[int, int]:
        rows = self._rows(
            "SELECT originator_node_id, originator_sequence_id FROM gateway_envelopes_latest "
            "ORDER BY originator_node_id"
        )
        return {int(o): int(s) for o, s in rows}

    def staged_envelope_count(self) -> int:
        return self._scalar("SELECT count(*) FROM staged_originator_envelopes")

    # -- payer reports ------------------------------------------------------------------------
    def payer_report_count(self) -> int:
        return self._scalar("SELECT count(*) FROM payer_reports")

    def payer_report_status_counts(self) -> PayerReportStatusCounts:
        total = self.payer_report_count()
        attestation = {name: 0 for name in _ATTESTATION.values()}
        for status, count in self._rows(
            "SELECT attestation_status, count(*) FROM payer_reports GROUP BY attestation_status"
        ):
            attestation[_ATTESTATION.get(int(status), str(status))] = int(count)
        submission = {name: 0 for name in _SUBMISSION.values()}
        for status, count in self._rows(
            "SELECT submission_status, count(*) FROM payer_reports GROUP BY submission_status"
        ):
            submission[_SUBMISSION.get(int(status), str(status))] = int(count)
        return PayerReportStatusCounts(total, attestation, submission)

    def payer_reports(self) -> list[dict[str, Any]]:
        """Every report row, for artifacts and detailed assertions."""
        rows = self._rows(
            "SELECT encode(id, 'hex'), originator_node_id, start_sequence_id, end_sequence_id, "
            "end_minute_since_epoch, active_node_ids, submission_status, attestation_status, "
            "submitted_report_index FROM payer_reports ORDER BY originator_node_id, start_sequence_id"
        )
        keys = (
            "id",
            "originator_node_id",
            "start_sequence_id",
            "end_sequence_id",
            "end_minute_since_epoch",
            "active_node_ids",
            "submission_status",
            "attestation_status",
            "submitted_report_index",
        )
        reports = []
        for row in rows:
            report = dict(zip(keys, row, strict=True))
            report["submission_status"] = _SUBMISSION.get(int(row[6]), str(row[6]))
            report["attestation_status"] = _ATTESTATION.get(int(row[7]), str(row[7]))
            reports.append(report)
        return reports

    def unsettled_usage(self) -> list[PayerUsage]:
        rows = self._rows(
            "SELECT p.address, COALESCE(SUM(u.spend_picodollars), 0), COALESCE(SUM(u.message_count), 0) "
            "FROM unsettled_usage u JOIN payers p ON u.payer_id = p.id "
            "GROUP BY p.address ORDER BY 2 DESC"
        )
        return [PayerUsage(str(a), int(s), int(c)) for a, s, c in rows]

    def usage_by_originator(self) -> list[tuple[str, int, int, int]]:
        """(payer address, originator, message count, spend in picodollars) of unsettled usage."""
        rows = self._rows(
            "SELECT p.address, u.originator_id, COALESCE(SUM(u.message_count), 0), "
            "COALESCE(SUM(u.spend_picodollars), 0) FROM unsettled_usage u JOIN payers p ON u.payer_id = p.id "
            "GROUP BY p.address, u.originator_id ORDER BY 1, 2"
        )
        return [(str(a), int(o), int(c), int(s)) for a, o, c, s in rows]

    def report_usage(self, originator_node_id: int) -> list[ReportUsage]:
        """For each of the originator's reports not settled yet, the usage its range covers, as
        xmtpd sums it into the report (minutes after the previous report's end minute, or all
        before it, through the report's end minute) and as settlement clears it."""
        reports = self._rows(
            "SELECT encode(r.id, 'hex'), COALESCE(("
            "  SELECT q.end_minute_since_epoch FROM payer_reports q WHERE q.originator_node_id = "
            "  r.originator_node_id AND q.end_sequence_id = r.start_sequence_id AND q.id <> r.id "
            "  ORDER BY q.created_at LIMIT 1), -1), r.end_minute_since_epoch "
            "FROM payer_reports r WHERE r.originator_node_id = %s AND r.submission_status <> 2",
            (originator_node_id,),
        )
        usage = []
        for report_id, after_minute, through_minute in reports:
            rows = self._rows(
                "SELECT p.address, SUM(u.spend_picodollars) FROM unsettled_usage u JOIN payers p "
                "ON p.id = u.payer_id WHERE u.originator_id = %s AND u.minutes_since_epoch > %s "
                "AND u.minutes_since_epoch <= %s GROUP BY p.address",
                (originator_node_id, after_minute, through_minute),
            )
            by_payer = {str(address): int(spend) for address, spend in rows}
            usage.append(ReportUsage(str(report_id), originator_node_id, by_payer))
        return usage

    def settled_payer_reports(self) -> list[SettledReport]:
        rows = self._rows(
            "SELECT originator_node_id, submitted_report_index FROM payer_reports "
            "WHERE submission_status = 2 AND submitted_report_index IS NOT NULL "
            "ORDER BY originator_node_id, submitted_report_index"
        )
        return [SettledReport(int(o), int(i)) for o, i in rows]

    def report_attestations(self) -> list[ReportAttestations]:
        """Signatures per payer report this node knows (oldest report first)."""
        rows = self._rows(
            "SELECT r.originator_node_id, r.start_sequence_id, r.end_sequence_id, "
            "COALESCE(cardinality(r.active_node_ids), 0), count(a.node_id) "
            "FROM payer_reports r LEFT JOIN payer_report_attestations a ON a.payer_report_id = r.id "
            "GROUP BY r.id, r.originator_node_id, r.start_sequence_id, r.end_sequence_id, r.active_node_ids, "
            "r.created_at ORDER BY r.created_at, r.originator_node_id"
        )
        return [ReportAttestations(int(o), int(s), int(e), int(signed), int(n)) for o, s, e, n, signed in rows]

    def node_id(self) -> int | None:
        rows = self._rows("SELECT node_id FROM node_info LIMIT 1")
        return int(rows[0][0]) if rows else None

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able picture of the database for failure artifacts."""
        counts = self.payer_report_status_counts()
        return {
            "node_id": self.node_id(),
            "envelope_count": self.envelope_count(),
            "client_envelope_count": self.envelope_count(client_only=True),
            "vector_clock": {str(k): v for k, v in self.vector_clock().items()},
            "staged_envelope_count": self.staged_envelope_count(),
            "payer_reports": {
                "total": counts.total,
                "attestation": counts.attestation,
                "submission": counts.submission,
            },
            "unsettled_usage": [u.__dict__ for u in self.unsettled_usage()],
        }
