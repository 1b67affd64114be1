"""Decoding the services' responses: a real node's answer, and one that does not decode."""

from __future__ import annotations

import pytest

from xmtpd_e2e.client.channel import decode_response
from xmtpd_e2e.client.envelopes import decode_originator_envelope
from xmtpd_e2e.client.errors import UNDECODABLE, PublishError, ResponseDecodeError
from xmtpd_e2e.client.ledger import PublishLedger
from xmtpd_e2e.client.proto import message_api_pb2
from xmtpd_e2e.client.publisher import DirectPublisher
from xmtpd_e2e.chain.keys import ANVIL_PRIVATE_KEYS, Key

PUBLISH = "/xmtp.xmtpv4.message_api.ReplicationApi/PublishPayerEnvelopes"

# PublishPayerEnvelopesResponse from xmtpd v1.2.0 (node 100, local runtime) to one group message of a
# 40-byte payload, group id 00..0f, a zero sender HMAC, signed by anvil account 1.
NODE_100_RESPONSE = bytes.fromhex(
    "0a96020ace010864100118d884f1e9ccbbe7f51822b2010a670a13121100000102030405060708090a0b0c0d0e0f12500a4e"
    "0a280001000210000102030405060708090a0b0c0d0e0f000000000000000101678f08ae0965b9861dde1220000000000000"
    "0000000000000000000000000000000000000000000000000000180112430a4115636b8ef7645976f0721af19f1dcf1495e0"
    "0d3c8706c82f3d6c58d96bdf1173151b538edf90aa95667b04707ef781bd581863a700d7e4b0a397613b8afcd2d401186420"
    "3c28a4b0820138b0b1ddda0612430a41885ac36cedd83dde3453402972ecbc65d0e97864288501554671543289cfbb116355"
    "3389a9fcca90a8a49c8ae4e592a5d6a40165c560e3f6f77be1acbee906e100"
)
NODE_100_SIGNER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_a_real_publish_response_decodes_down_to_its_client_envelope() -> None:
    response = decode_response(
        NODE_100_RESPONSE, message_api_pb2.PublishPayerEnvelopesResponse, method=PUBLISH, address="node-100"
    )
    [envelope] = response.originator_envelopes
    decoded = decode_originator_envelope(envelope)
    assert (decoded.originator_node_id, decoded.sequence_id) == (100, 1)
    assert decoded.topic == bytes([0]) + bytes(range(16))
    assert decoded.payer_address == PAYER
    assert decoded.originator_signer == NODE_100_SIGNER
    assert decoded.retention_days == 60
    assert decoded.base_fee_picodollars > 0 and decoded.expiry_unixtime > decoded.originator_ns // 10**9


def test_a_response_that_does_not_decode_names_method_address_reason_and_bytes() -> None:
    cut = NODE_100_RESPONSE[:100]  # the first envelope's length says 278 bytes follow
    with pytest.raises(ResponseDecodeError) as raised:
        decode_response(cut, message_api_pb2.PublishPayerEnvelopesResponse, method=PUBLISH, address="10.0.0.5:5050")
    message = str(raised.value)
    assert message.startswith("10.0.0.5:5050: the " + PUBLISH + " response (100 bytes) does not decode as ")
    assert "xmtp.xmtpv4.message_api.PublishPayerEnvelopesResponse" in message
    assert message.endswith("bytes: " + cut.hex())
    assert raised.value.data == cut


class _AnsweringGarbage:
    address = "10.0.0.5:5050"

    def publish_payer_envelopes(self, envelopes: object) -> object:
        raise ResponseDecodeError(self.address, PUBLISH, "PublishPayerEnvelopesResponse", b"\xff", "Error parsing")

    def close(self) -> None:
        pass


def test_a_publish_whose_answer_does_not_decode_is_not_reported_as_refused() -> None:
    ledger = PublishLedger()
    publisher = DirectPublisher(
        resolve_address=lambda: "10.0.0.5:5050",
        node_id=100,
        key=Key.from_hex(ANVIL_PRIVATE_KEYS[1]),
        ledger=ledger,
        client_name="c",
    )
    publisher._api = _AnsweringGarbage()  # type: ignore[assignment]
    with pytest.raises(PublishError) as raised:
        publisher.publish(1)
    publisher.close()
    assert raised.value.code == UNDECODABLE and not raised.value.unreachable
    assert str(raised.value).startswith("node-100 (10.0.0.5:5050) answered with a response that does not decode")
    assert "bytes: ff" in str(raised.value)
