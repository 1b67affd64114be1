"""Decoding the services' responses: a real node's answer, and one that does not decode."""

from __future__ import annotations

import gzip

import pytest

from xmtpd_e2e.client.channel import CHANNEL_OPTIONS, decode_response
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

# What `explore --seed 1` (local runtime, no faults) received as the message of a publish to node-200
# that failed with "INTERNAL: Exception deserializing response!": the gzip stream (1f8b...) of a
# valid PublishPayerEnvelopesResponse, never decompressed.  xmtpd compressed every response while
# clients accepted gzip; now they accept uncompressed responses only.
GZIPPED_NODE_200_RESPONSE = bytes.fromhex(
    "1f8b08000000000000ff00f70108fe0af4030aac0308c801100d1880f5d19ca0c5e7f518228f030ac2020a13121100bfec95"
    "c085bc3bb098e797e882f1f15612aa020aa7020a80020001000210bfec95c085bc3bb098e797e882f1f15600000000000000"
    "01016641a00ce7dd1364d3b4878bd0cc2eff9e296d14a199eea6b42250f38f0b996394711b46ec909bfb5ebc16ab9980d8d5"
    "7e5f4acb131e6e0010d80d75a59eafb22a7f695790a422d0f2146290c450f9889924928873ab553a410632cb9e0139681fd8"
    "e9a38a14a1a63a672c346968a6f2a7a271c9708209f5d5aca5238c05e1887fbea6558ed855dba4fd7958b8da97221e32dff6"
    "a91c6b2c3931204f814d3eef5dca954edee4f6839696dcbca96cee8b49f99c2f4df949456339f40bb3a6e23a3d7756cf3d80"
    "69aa34f9b7b111b38b9796706a0d8706f4e6869a40dd8c910deb5db41220adff5832540073d95c6af0669098b234bf742ad9"
    "b452b78cd52ad5971cd592ce180112430a41d691918993c229b5790b96d31779fffc29a4ad1977db42901f7f366807ce7f78"
    "7945c30deafd06f3d7972ad9e3a0d5302c6f6053dd0c81e224496a81a1f14b250118c801203c28849fa40238fbb3ddda0612"
    "430a418c4a5146efcdc3b14c6966a291aea1db6216a0741ebdd45ce0ce3b1e5da4775c23722ded7e6048cbf11bbde023a8c9"
    "7acaa3561e426cb81defc962dd4b49dd1b00010000ffff665908a0f7010000"
)
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


def test_the_undecodable_publish_response_was_a_valid_response_left_gzipped() -> None:
    with pytest.raises(ResponseDecodeError, match="bytes: 1f8b08"):
        decode_response(
            GZIPPED_NODE_200_RESPONSE,
            message_api_pb2.PublishPayerEnvelopesResponse,
            method=PUBLISH,
            address="10.213.1.6:5050",
        )
    response = message_api_pb2.PublishPayerEnvelopesResponse.FromString(gzip.decompress(GZIPPED_NODE_200_RESPONSE))
    [envelope] = response.originator_envelopes
    decoded = decode_originator_envelope(envelope)
    assert (decoded.originator_node_id, decoded.sequence_id) == (200, 13)


def test_channels_accept_only_uncompressed_responses() -> None:
    assert ("grpc.compression_enabled_algorithms_bitset", 1) in CHANNEL_OPTIONS


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
