"""A test vector computed independently of xmtpd (pure-Python keccak, secp256k1 and RFC 6979 signing,
self-verified by public-key recovery), byte for byte."""

from xmtpd_e2e.chain.keys import ANVIL_PRIVATE_KEYS, Key
from xmtpd_e2e.client.envelopes import (
    group_message_envelope,
    mls_private_message,
    payer_signature_digest,
    sign_payer_envelope,
)

GROUP = bytes(range(16))
DATA = bytes.fromhex("0001000210000102030405060708090a0b0c0d0e0f000000000000000101000000")
CLIENT = bytes.fromhex(
    "0a13121100000102030405060708090a0b0c0d0e0f12490a470a210001000210000102030405060708090a0b0c0d0e0f"
    "000000000000000101000000122011111111111111111111111111111111111111111111111111111111111111111801"
)
DIGEST = "561ec194fa34b7589a87df9440abfe7c2cb1a63e21290d2a13716b17df6cd507"
SIGNATURE = (
    "d1c1815d6ad2c444f4f054cf83b3e40a3e4bed74c7c068ec155e4de5e87af181"
    "567b48ef1e39647f0f69fbeb8d4554cd99bd1dce45633ba5d2229b205a51bdd100"
)
PAYER_ENVELOPE = (
    "0a600a13121100000102030405060708090a0b0c0d0e0f12490a470a210001000210000102030405060708090a0b0c0d0e0f"
    "00000000000000010100000012201111111111111111111111111111111111111111111111111111111111111111180112430a41"
    "d1c1815d6ad2c444f4f054cf83b3e40a3e4bed74c7c068ec155e4de5e87af181567b48ef1e39647f0f69fbeb8d4554cd99bd1dce"
    "45633ba5d2229b205a51bdd1001864203c"
)


def test_client_envelope_serializes_like_the_vector() -> None:
    envelope = group_message_envelope(group_id=GROUP, data=DATA, sender_hmac=b"\x11" * 32)
    assert envelope.SerializeToString() == CLIENT


def test_digest_signature_and_payer_envelope_match_the_vector() -> None:
    key = Key.from_hex(ANVIL_PRIVATE_KEYS[1])
    assert payer_signature_digest(CLIENT, 100).hex() == DIGEST
    payer = sign_payer_envelope(CLIENT, key, 100, 60)
    assert payer.payer_signature.bytes.hex() == SIGNATURE
    assert payer.SerializeToString().hex() == PAYER_ENVELOPE


def test_mls_header_is_what_xmtpd_parses() -> None:
    data = mls_private_message(GROUP, epoch=1, size=256)
    assert len(data) == 256
    assert data[:5] == bytes.fromhex("0001000210") and data[5:21] == GROUP
    assert data[21:29] == (1).to_bytes(8, "big") and data[29] == 1
