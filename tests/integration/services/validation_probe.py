"""Talking to the MLS validation service and to nodes about key packages, without libxmtp.

A key package is published as a node's client would: a client envelope on the key-package
topic (kind 3) carrying ``UploadKeyPackageRequest``.  The framework's proto subset has only the
group-message payload, so the envelope is assembled from its wire form (field 4 of
``ClientEnvelope``, as xmtp/proto numbers it); protobuf keeps the unknown field when it
re-serializes.
"""

from __future__ import annotations

import grpc

from xmtpd_e2e.client.proto import envelopes_pb2

__all__ = ["bogus_key_package_envelope", "validate_bogus_key_package"]

KEY_PACKAGES_TOPIC_KIND = 3
_VALIDATE_KEY_PACKAGES = "/xmtp.mls_validation.v1.ValidationApi/ValidateInboxIdKeyPackages"


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (payloads here are under 128 bytes)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def bogus_key_package_envelope(installation: bytes = b"\x01\x02\x03") -> envelopes_pb2.ClientEnvelope:
    """A client envelope uploading the key package ``abc``, which is no TLS-encoded key package."""
    aad = envelopes_pb2.AuthenticatedData(target_topic=bytes([KEY_PACKAGES_TOPIC_KIND]) + installation)
    upload = _field(1, _field(1, b"abc"))  # UploadKeyPackageRequest{key_package{key_package_tls_serialized}}
    envelope = envelopes_pb2.ClientEnvelope()
    envelope.ParseFromString(_field(1, aad.SerializeToString()) + _field(4, upload))
    return envelope


def validate_bogus_key_package(endpoint: str) -> bytes:
    """The raw ``ValidateInboxIdKeyPackagesResponse`` for one bogus key package, straight from the
    service's gRPC API at ``endpoint`` (``host:port``)."""
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(
            _VALIDATE_KEY_PACKAGES, request_serializer=lambda b: b, response_deserializer=lambda b: b
        )
        response: bytes = call(_field(1, _field(1, b"abc")), timeout=10)
        return response
