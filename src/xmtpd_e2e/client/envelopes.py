"""Building, signing and decoding XMTP v4 envelopes.

A client envelope carries a group message whose MLS header passes xmtpd's checks (protocol
version 1, PrivateMessage, 16-byte group id, epoch, application content); the node parses only
that header.  A payer envelope wraps the *exact* serialized client envelope bytes with the
payer's signature over keccak256("target|" || uint32 BE originator || "payer|" || bytes).
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass

from eth_keys import keys as eth_keys
from eth_utils import keccak

from xmtpd_e2e.chain.keys import Key
from xmtpd_e2e.client.proto import envelopes_pb2, mls_pb2, signature_pb2

__all__ = [
    "group_message_envelope",
    "mls_private_message",
    "sign_payer_envelope",
    "payer_signature_digest",
    "decode_originator_envelope",
    "DecodedEnvelope",
    "DEFAULT_RETENTION_DAYS",
    "GROUP_MESSAGE_TOPIC_KIND",
]

DEFAULT_RETENTION_DAYS = 60
GROUP_MESSAGE_TOPIC_KIND = 0
_MLS_VERSION_1 = 1
_WIRE_FORMAT_PRIVATE_MESSAGE = 2
_CONTENT_TYPE_APPLICATION = 1


def mls_private_message(group_id: bytes, epoch: int = 1, size: int = 256) -> bytes:
    """An MLS PrivateMessage of ``size`` bytes whose header xmtpd accepts.

    Bytes after the content type are never parsed by the node; they are random so every
    message differs, and sized like upstream's stress payloads.
    """
    if len(group_id) != 16:
        raise ValueError("group id must be 16 bytes")
    header = struct.pack(">HHB", _MLS_VERSION_1, _WIRE_FORMAT_PRIVATE_MESSAGE, 0x10) + group_id
    header += struct.pack(">QB", epoch, _CONTENT_TYPE_APPLICATION)
    return header + os.urandom(max(0, size - len(header)))


def group_message_envelope(
    *,
    group_id: bytes | None = None,
    data: bytes | None = None,
    sender_hmac: bytes | None = None,
    payload_size: int = 256,
) -> envelopes_pb2.ClientEnvelope:
    """A client envelope with one group message, on topic kind 0 || group id."""
    group = group_id if group_id is not None else os.urandom(16)
    message = mls_pb2.GroupMessageInput(
        v1=mls_pb2.GroupMessageInput.V1(
            data=data if data is not None else mls_private_message(group, size=payload_size),
            sender_hmac=sender_hmac if sender_hmac is not None else os.urandom(32),
            should_push=True,
        )
    )
    return envelopes_pb2.ClientEnvelope(
        aad=envelopes_pb2.AuthenticatedData(target_topic=bytes([GROUP_MESSAGE_TOPIC_KIND]) + group),
        group_message=message,
    )


def payer_signature_digest(client_envelope_bytes: bytes, target_originator: int) -> bytes:
    return keccak(b"target|" + struct.pack(">I", target_originator) + b"payer|" + client_envelope_bytes)


def sign_payer_envelope(
    client_envelope_bytes: bytes, key: Key, target_originator: int, retention_days: int = DEFAULT_RETENTION_DAYS
) -> envelopes_pb2.PayerEnvelope:
    """Sign the exact bytes given; the node never re-serializes them."""
    private = eth_keys.PrivateKey(bytes.fromhex(key.private_key[2:]))
    signature = private.sign_msg_hash(payer_signature_digest(client_envelope_bytes, target_originator))
    return envelopes_pb2.PayerEnvelope(
        unsigned_client_envelope=client_envelope_bytes,
        payer_signature=signature_pb2.RecoverableEcdsaSignature(bytes=signature.to_bytes()),
        target_originator=target_originator,
        message_retention_days=retention_days,
    )


def _recover(digest: bytes, signature: bytes) -> str:
    return str(eth_keys.Signature(signature).recover_public_key_from_msg_hash(digest).to_checksum_address())


@dataclass(frozen=True)
class DecodedEnvelope:
    """An OriginatorEnvelope unpacked down to its client envelope, signatures recovered."""

    originator_node_id: int
    sequence_id: int
    originator_ns: int
    base_fee_picodollars: int
    congestion_fee_picodollars: int
    expiry_unixtime: int
    topic: bytes
    payer_address: str
    originator_signer: str | None
    payer_envelope_size: int
    retention_days: int
    envelope_hash: str
    """sha256 (hex) of the serialized OriginatorEnvelope, as stored by the node."""


def decode_originator_envelope(raw: bytes | envelopes_pb2.OriginatorEnvelope) -> DecodedEnvelope:
    envelope = (
        raw if isinstance(raw, envelopes_pb2.OriginatorEnvelope) else envelopes_pb2.OriginatorEnvelope.FromString(raw)
    )
    serialized = envelope.SerializeToString() if not isinstance(raw, bytes) else raw
    unsigned = envelopes_pb2.UnsignedOriginatorEnvelope.FromString(envelope.unsigned_originator_envelope)
    payer = envelopes_pb2.PayerEnvelope.FromString(unsigned.payer_envelope_bytes)
    client = envelopes_pb2.ClientEnvelope.FromString(payer.unsigned_client_envelope)
    payer_address = _recover(
        payer_signature_digest(payer.unsigned_client_envelope, payer.target_originator), payer.payer_signature.bytes
    )
    originator_signer = None
    if envelope.HasField("originator_signature"):
        originator_signer = _recover(
            keccak(b"originator|" + envelope.unsigned_originator_envelope), envelope.originator_signature.bytes
        )
    return DecodedEnvelope(
        originator_node_id=unsigned.originator_node_id,
        sequence_id=unsigned.originator_sequence_id,
        originator_ns=unsigned.originator_ns,
        base_fee_picodollars=unsigned.base_fee_picodollars,
        congestion_fee_picodollars=unsigned.congestion_fee_picodollars,
        expiry_unixtime=unsigned.expiry_unixtime,
        topic=client.aad.target_topic,
        payer_address=payer_address,
        originator_signer=originator_signer,
        payer_envelope_size=len(unsigned.payer_envelope_bytes),
        retention_days=payer.message_retention_days,
        envelope_hash=hashlib.sha256(serialized).hexdigest(),
    )
