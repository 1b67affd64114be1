"""What honest nodes did with what a misbehaving node served them: from their databases and logs.

The misbehaving node X stores its envelopes honestly (the framework's clients publish to its own
port); only what it serves peers is altered.  So for each envelope key of X, an honest node must
hold either nothing (it refused the envelope) or exactly X's own bytes.  Anything else got
through.  A gap X left is accepted silently when an honest node stores envelopes after it and
never the one left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eth_hash.auto import keccak
from eth_keys import keys

from xmtpd_e2e.client.proto import envelopes_pb2
from xmtpd_e2e.errors import WaitTimeout
from xmtpd_e2e.faults.misbehaving_proxy import ORIGINATOR_LABEL
from xmtpd_e2e.polling import wait_until

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["Evidence", "Outcome", "FINDINGS", "LOG_FLAGS", "signer_of", "gather", "exercise", "findings_in"]

FINDINGS = {
    "bad-signature": "sync-unverified-originator-signature",
    "equivocate": "sync-equivocation-accepted",
    "skip-sequence": "sync-gap-accepted",
    "replay-old": "sync-replay-accepted",
}
"""The finding (docs/findings/<name>.md) each kind's violation is."""
LOG_FLAGS = ("discarding envelope after validation failed", "received out-of-order envelope")
"""What xmtpd's sync (pkg/sync/originator_stream.go) logs when it refuses or flags an envelope."""


def signer_of(data: bytes) -> str | None:
    """The address that signed a stored originator envelope, or None when it recovers to none."""
    envelope = envelopes_pb2.OriginatorEnvelope.FromString(data)
    digest = keccak(ORIGINATOR_LABEL + envelope.unsigned_originator_envelope)
    try:
        signature = keys.Signature(envelope.originator_signature.bytes)
        return str(signature.recover_public_key_from_msg_hash(digest).to_checksum_address())
    except Exception:
        return None


@dataclass
class Evidence:
    """One honest node's record of the misbehaving node's envelopes."""

    node: str
    refused: list[tuple[int, int]] = field(default_factory=list)
    identical: list[tuple[int, int]] = field(default_factory=list)
    altered: list[tuple[int, int]] = field(default_factory=list)
    """Stored with bytes other than the misbehaving node's own."""
    badly_signed: list[tuple[int, int]] = field(default_factory=list)
    """Stored with an originator signature that does not recover to the originator's address."""
    gaps: list[tuple[int, int]] = field(default_factory=list)
    """Missing while a later envelope of the same originator is stored."""
    log_flags: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return (
            f"{self.node}: refused {len(self.refused)}, stored identical {len(self.identical)}, stored altered "
            f"{self.altered}, stored badly signed {self.badly_signed}, gaps {self.gaps}, log {self.log_flags}"
        )


def gather(
    misbehaving: NodeHandle, honest: NodeHandle, keys_of_x: Iterable[tuple[int, int]], log_from: int = 0
) -> Evidence:
    """Compare ``honest``'s stored envelopes under ``keys_of_x`` with ``misbehaving``'s own; its
    log flags counted from character ``log_from`` on."""
    evidence = Evidence(honest.alias)
    ordered = sorted(keys_of_x)
    stored = {key: honest.observer.envelope_bytes(*key) for key in ordered}
    address = misbehaving.address.lower()
    for key in ordered:
        theirs, own = stored[key], misbehaving.observer.envelope_bytes(*key)
        if theirs is None:
            evidence.refused.append(key)
            if any(later > key[1] and stored[(o, later)] is not None for o, later in ordered if o == key[0]):
                evidence.gaps.append(key)
            continue
        (evidence.identical if theirs == own else evidence.altered).append(key)
        signer = signer_of(theirs)
        if signer is None or signer.lower() != address:
            evidence.badly_signed.append(key)
    logs = honest.logs()[log_from:]
    evidence.log_flags = {flag: logs.count(flag) for flag in LOG_FLAGS}
    return evidence


@dataclass
class Outcome:
    """One misbehaviour exercised: the keys published while in force, the evidence of every
    honest node while the fault was in force and again after it healed."""

    behaviour: str
    keys: list[tuple[int, int]]
    during: list[Evidence]
    after: list[Evidence]

    def violations(self) -> list[str]:
        """What got through, each naming its finding; empty when every honest node held."""
        found = []
        finding = FINDINGS[self.behaviour]
        reported: set[str] = set()
        for when, evidence in [("after heal", e) for e in self.after] + [("while in force", e) for e in self.during]:
            if (evidence.altered or evidence.badly_signed) and evidence.node not in reported:
                reported.add(evidence.node)
                found.append(f"[{finding}] {self.behaviour}, {when}: {evidence.describe()}")
        for evidence in self.after:
            if evidence.gaps:
                found.append(f"[{finding}] {self.behaviour}: gap never filled after heal: {evidence.describe()}")
        return found


def exercise(env: Environment, behaviour: str, misbehaving: int, count: int = 5, settle_s: float = 20.0) -> Outcome:
    """Apply ``behaviour`` on node ``misbehaving``, publish ``count`` envelopes to it directly,
    let the honest nodes sync them through its proxy, gather evidence, heal, gather again."""
    x = env.node(misbehaving)
    honest = [node for node in env.nodes() if node.id != misbehaving]
    log_from = {node.alias: len(node.logs()) for node in honest}
    fault = env.faults.apply(behaviour, on=misbehaving)
    try:
        published = env.new_client(misbehaving).publish_envelopes(count)
        keys_of_x = [(p.originator_node_id, p.sequence_id) for p in published]
        _settle(honest, keys_of_x, settle_s)
        during = [gather(x, node, keys_of_x, log_from[node.alias]) for node in honest]
    finally:
        fault.heal()
    _settle(honest, keys_of_x, settle_s)
    after = [gather(x, node, keys_of_x, log_from[node.alias]) for node in honest]
    return Outcome(behaviour, keys_of_x, during, after)


def _settle(honest: list[NodeHandle], keys_of_x: list[tuple[int, int]], seconds: float) -> None:
    """Until every honest node stores every key, or ``seconds`` (refusing is a valid outcome)."""
    try:
        wait_until(
            lambda: all(node.has_envelopes(keys_of_x) for node in honest),
            bool,
            timeout=seconds,
            description="honest nodes to store the misbehaving node's envelopes (or refuse them)",
        )
    except WaitTimeout:
        pass


def findings_in(violations: list[str]) -> list[str]:
    """The finding names ``violations`` cite, once each, in order."""
    return list(dict.fromkeys(v[1 : v.index("]")] for v in violations if v.startswith("[")))
