"""The read-path mutations on hand-made envelopes: each changes a response as it says, or declines."""

from __future__ import annotations

import pytest

from xmtpd_e2e.client.envelopes import group_message_envelope
from xmtpd_e2e.client.proto import envelopes_pb2
from xmtpd_e2e.client.reader import read_envelope
from xmtpd_e2e.explore.read_mutants import mutate


def envelope(originator: int, sequence: int) -> envelopes_pb2.OriginatorEnvelope:
    client = group_message_envelope()
    payer = envelopes_pb2.PayerEnvelope(
        unsigned_client_envelope=client.SerializeToString(), target_originator=originator
    )
    unsigned = envelopes_pb2.UnsignedOriginatorEnvelope(
        originator_node_id=originator, originator_sequence_id=sequence, payer_envelope_bytes=payer.SerializeToString()
    )
    return envelopes_pb2.OriginatorEnvelope(unsigned_originator_envelope=unsigned.SerializeToString())


RESPONSE = [envelope(100, 1), envelope(100, 2), envelope(100, 3), envelope(200, 1)]


def keys(envelopes: list[envelopes_pb2.OriginatorEnvelope]) -> list[tuple[int, int]]:
    return [(read_envelope(e).originator, read_envelope(e).sequence_id) for e in envelopes]


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        ("drop", [(100, 2), (100, 3), (200, 1)]),
        ("duplicate", [(100, 1), (100, 1), (100, 2), (100, 3), (200, 1)]),
        ("reorder", [(100, 2), (100, 1), (100, 3), (200, 1)]),
        ("replay-old", [(100, 1), (100, 2), (100, 3), (200, 1), (100, 9)]),
    ],
)
def test_each_mutation_changes_the_response_as_named(mutation: str, expected: list[tuple[int, int]]) -> None:
    result = mutate(mutation, RESPONSE, envelope(100, 9))
    assert result is not None and keys(result[0]) == expected, result


def test_a_changed_payload_keeps_the_key_and_the_topic_but_not_the_digest() -> None:
    result = mutate("change-payload", RESPONSE, None)
    assert result is not None
    before, after = read_envelope(RESPONSE[0]), read_envelope(result[0][0])
    assert (after.originator, after.sequence_id, after.topic) == (before.originator, before.sequence_id, before.topic)
    assert after.digest != before.digest


def test_a_response_without_two_envelopes_of_one_originator_is_left_alone() -> None:
    assert mutate("drop", [envelope(100, 1), envelope(200, 1)], None) is None
    assert mutate("replay-old", [envelope(200, 5)], envelope(100, 1)) is None
