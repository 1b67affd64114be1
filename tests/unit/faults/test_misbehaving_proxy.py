"""The misbehaviours on hand-made, really signed envelopes: each changes what the node serves as
named, only for its own originator id, and the evidence reads the signatures back."""

from __future__ import annotations

import pytest
from eth_keys import keys

from xmtpd_e2e.client.proto import envelopes_pb2
from tests.unit.explore.test_read_mutants import envelope as unsigned_envelope
from xmtpd_e2e.client.reader import read_envelope
from xmtpd_e2e.faults.misbehaving_evidence import signer_of
from xmtpd_e2e.faults.misbehaving_proxy import Misbehaviour, resign

KEY = "0x" + "11" * 32
ADDRESS = keys.PrivateKey(bytes.fromhex("11" * 32)).public_key.to_checksum_address()


def envelope(originator: int, sequence: int) -> envelopes_pb2.OriginatorEnvelope:
    """The read-path tests' envelope, signed with ``KEY``."""
    return resign(unsigned_envelope(originator, sequence), KEY)


def keys_of(envelopes: list[envelopes_pb2.OriginatorEnvelope]) -> list[tuple[int, int]]:
    return [(read_envelope(e).originator, read_envelope(e).sequence_id) for e in envelopes]


def serve(
    behaviour: str, *responses: list[envelopes_pb2.OriginatorEnvelope]
) -> list[list[envelopes_pb2.OriginatorEnvelope]]:
    misbehaviour = Misbehaviour(behaviour, 100, KEY)
    return [sent for response in responses for sent in misbehaviour.apply(response)]


def test_a_resigned_envelope_recovers_to_the_key() -> None:
    assert signer_of(envelope(100, 1).SerializeToString()) == ADDRESS


def test_bad_signature_corrupts_only_the_nodes_own_envelopes() -> None:
    other = envelope(200, 1)
    [served] = serve("bad-signature", [envelope(100, 1), other])
    assert keys_of(served) == [(100, 1), (200, 1)]
    assert signer_of(served[0].SerializeToString()) != ADDRESS
    assert served[1] == other


def test_equivocation_sends_a_validly_signed_second_payload_under_the_same_key() -> None:
    original = envelope(100, 1)
    [served] = serve("equivocate", [original])
    assert keys_of(served) == [(100, 1), (100, 1)]
    assert served[0] == original and served[1] != original
    assert read_envelope(served[1]).digest != read_envelope(original).digest
    assert signer_of(served[1].SerializeToString()) == ADDRESS


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("skip-sequence", [[(100, 2)], [(100, 3)]]),
        ("replay-old", [[(100, 1), (100, 2)], [(100, 1)], [(100, 3)], [(100, 1)]]),
    ],
)
def test_stream_misbehaviours(behaviour: str, expected: list[list[tuple[int, int]]]) -> None:
    served = serve(behaviour, [envelope(100, 1), envelope(100, 2)], [envelope(100, 3)])
    assert [keys_of(response) for response in served] == expected


def test_an_unknown_behaviour_is_refused() -> None:
    with pytest.raises(ValueError, match="known: bad-signature"):
        Misbehaviour("lie", 100, KEY)
