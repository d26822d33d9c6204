"""The native SNMPv2c BER codec: exact encodings, strict rejection, properties, and pysnmp as the oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder as pyasn1_decoder  # type: ignore[import-untyped]
from pysnmp.proto.api import v2c as pysnmp_v2c

from agent.snmp import ber
from agent.snmp.ber import BerError, Message
from agent.snmp.client import convert
from agent.snmp.v2c import from_raw

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def response(*varbinds: ber.RawVarbind, community: bytes = b"public", rid: int = 7) -> Message:
    return Message(community, ber.RESPONSE, rid, 0, 0, tuple(varbinds))


def test_get_request_is_byte_exact() -> None:
    # The same datagram tests/peers/snmpd.py builds by hand for its readiness check.
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])
    body = b"\x30\x0c\x06\x08" + oid + b"\x05\x00"
    pdu = b"\xa0\x19\x02\x01\x01\x02\x01\x00\x02\x01\x00\x30\x0e" + body
    expected = b"\x30\x26\x02\x01\x01\x04\x06public" + pdu
    assert ber.request(b"public", ber.GET, 1, [SYS_UPTIME]) == expected
    assert ber.decode(expected) == Message(b"public", ber.GET, 1, 0, 0, ((SYS_UPTIME, ber.NULL, None),))


@pytest.mark.parametrize(
    ("tag", "value", "octets"),
    [
        (ber.INTEGER, 0, b"\x02\x01\x00"),
        (ber.INTEGER, -128, b"\x02\x01\x80"),
        (ber.INTEGER, 128, b"\x02\x02\x00\x80"),
        (ber.INTEGER, -(2**31), b"\x02\x04\x80\x00\x00\x00"),
        (ber.COUNTER32, 2**32 - 1, b"\x41\x05\x00\xff\xff\xff\xff"),
        (ber.GAUGE32, 1000, b"\x42\x02\x03\xe8"),
        (ber.TIMETICKS, 123456, b"\x43\x03\x01\xe2\x40"),
        (ber.COUNTER64, 2**64 - 1, b"\x46\x09\x00" + b"\xff" * 8),
        (ber.IP_ADDRESS, b"\x0a\x00\x00\x01", b"\x40\x04\x0a\x00\x00\x01"),
        (ber.OPAQUE, b"\x9f\x78\x04\x3f\x80\x00\x00", b"\x44\x07\x9f\x78\x04\x3f\x80\x00\x00"),
        (ber.OCTET_STRING, b"x" * 200, b"\x04\x81\xc8" + b"x" * 200),
        (ber.OBJECT_ID, (1, 3, 6, 1, 4, 1, 99999), b"\x06\x08\x2b\x06\x01\x04\x01\x86\x8d\x1f"),
        (ber.OBJECT_ID, (2, 999, 3), b"\x06\x03\x88\x37\x03"),
        (ber.NULL, None, b"\x05\x00"),
        (ber.NO_SUCH_OBJECT, None, b"\x80\x00"),
        (ber.NO_SUCH_INSTANCE, None, b"\x81\x00"),
        (ber.END_OF_MIB_VIEW, None, b"\x82\x00"),
    ],
)
def test_values_encode_exactly_and_decode_back(tag: int, value: ber.Value, octets: bytes) -> None:
    assert ber.encode_value(tag, value) == octets
    msg = response((SYS_UPTIME, tag, value))
    assert ber.decode(ber.encode(msg)) == msg


def _with_value(octets: bytes) -> bytes:
    """A response whose single varbind has these value octets, with every outer length made right."""
    vb = b"\x06\x08\x2b\x06\x01\x02\x01\x01\x03\x00" + octets
    vbl = ber._tlv(0x30, ber._tlv(0x30, vb))
    pdu = ber._tlv(ber.RESPONSE, b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + vbl)
    return ber._tlv(0x30, b"\x02\x01\x01\x04\x06public" + pdu)


GOOD = ber.encode(response((SYS_UPTIME, ber.TIMETICKS, 4242)))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "truncated"),
        (GOOD[:-1], "runs past"),
        (GOOD + b"\x00", "bytes after the message"),
        (b"\x30\x80" + GOOD[2:] + b"\x00\x00", "indefinite length"),
        (b"\x30\x85\x00\x00\x00\x00\x26" + GOOD[2:], "length of 5 octets"),
        (GOOD.replace(b"\x02\x01\x01\x04", b"\x02\x01\x00\x04", 1), "version 0 is not SNMPv2c"),
        (GOOD.replace(b"\xa2", b"\xa4", 1), "unknown PDU type 0xa4"),
        (_with_value(b"\x47\x01\x00"), "unknown type tag 0x47"),
        (_with_value(b"\x41\x01\xff"), "-1 is out of range"),
        (_with_value(b"\x41\x06\x00\x01\x00\x00\x00\x00"), "integer of 6 octets"),
        (_with_value(b"\x02\x00"), "integer of 0 octets"),
        (_with_value(b"\x02\x05\x00\x80\x00\x00\x00"), "integer of 5 octets"),
        (_with_value(b"\x46\x0a\x01" + b"\x00" * 9), "integer of 10 octets"),
        (_with_value(b"\x40\x05\x01\x02\x03\x04\x05"), "IpAddress of 5 octets"),
        (_with_value(b"\x05\x01\x00"), "NULL or exception value with 1"),
        (_with_value(b"\x06\x00"), "empty OID"),
        (_with_value(b"\x06\x02\x2b\x86"), "ends inside an arc"),
        (_with_value(b"\x06\x03\x2b\x80\x01"), "leading 0x80"),
        (_with_value(b"\x06\x06\x2b\x90\x80\x80\x80\x00"), "above 2\\*\\*32-1"),
        (_with_value(b"\x06\x81\x80" + b"\x01" * 128), "129 arcs"),
        (_with_value(b"\x42\x02\x01"), "does not fill its varbind"),
        (_with_value(b"\x42\x01\x01\x00"), "does not fill its varbind"),
        (_with_value(b"\x1f\x01\x00"), "unknown type tag 0x1f"),
        (GOOD.replace(b"\x02\x01\x00\x02\x01\x00", b"\x02\x01\x13\x02\x01\x00"), "error-status/error-index 19/0"),
        (GOOD.replace(b"\x02\x01\x00\x02\x01\x00", b"\x02\x01\x00\x02\x01\xff"), "error-index 0/-1 out of range"),
    ],
)
def test_malformed_datagrams_are_rejected_with_the_reason(data: bytes, why: str) -> None:
    with pytest.raises(BerError, match=why):
        ber.decode(data)


def test_encode_rejects_what_snmp_cannot_carry() -> None:
    for oid in [(3, 1), (1, 40), (1,), (1, 3, -1), (1, 3, 2**32), tuple(range(2)) * 65]:
        with pytest.raises(BerError, match="cannot encode OID"):
            ber.encode_oid(oid)
    with pytest.raises(BerError, match="out of range"):
        ber.encode_value(ber.COUNTER32, 2**32)
    with pytest.raises(BerError, match="IpAddress of 3"):
        ber.encode_value(ber.IP_ADDRESS, b"\x01\x02\x03")
    with pytest.raises(BerError, match="carries no value"):
        ber.encode_value(ber.NULL, 0)
    with pytest.raises(BerError, match="cannot encode str"):
        ber.encode_value(ber.OCTET_STRING, "text")  # type: ignore[arg-type]


# --- properties -----------------------------------------------------------------------------------------

ARC = st.integers(0, 2**32 - 1)
OIDS = st.one_of(
    st.tuples(st.integers(0, 1), st.integers(0, 39)),
    st.tuples(st.just(2), st.integers(0, 2**32 - 81)),
).flatmap(lambda head: st.lists(ARC, max_size=40).map(lambda rest: (*head, *rest)))
VALUES = st.one_of(
    st.tuples(st.just(ber.INTEGER), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.sampled_from([ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS]), st.integers(0, 2**32 - 1)),
    st.tuples(st.just(ber.COUNTER64), st.integers(0, 2**64 - 1)),
    st.tuples(st.sampled_from([ber.OCTET_STRING, ber.OPAQUE]), st.binary(max_size=300)),
    st.tuples(st.just(ber.IP_ADDRESS), st.binary(min_size=4, max_size=4)),
    st.tuples(st.just(ber.OBJECT_ID), OIDS),
    st.tuples(st.sampled_from(sorted(ber.EXCEPTIONS)), st.none()),
)
VARBINDS = st.lists(st.tuples(OIDS, VALUES).map(lambda p: (p[0], p[1][0], p[1][1])), max_size=30)
MESSAGES = st.sampled_from(sorted(ber.PDU_TYPES)).flatmap(
    lambda pdu_type: st.builds(
        Message,
        st.binary(max_size=40),
        st.just(pdu_type),
        st.integers(-(2**31), 2**31 - 1),
        st.integers(0, 2**31 - 1 if pdu_type == ber.GET_BULK else 18),
        st.integers(0, 2**31 - 1),
        VARBINDS.map(tuple),
    )
)


@given(MESSAGES)
def test_encode_then_decode_round_trips(msg: Message) -> None:
    assert ber.decode(ber.encode(msg)) == msg


@settings(max_examples=60, deadline=None)  # pyasn1 is the slow side here
@given(st.builds(response, *[st.tuples(OIDS, VALUES).map(lambda p: (p[0], p[1][0], p[1][1]))] * 3))
def test_pysnmp_decodes_our_encoding_to_the_same_varbinds(msg: Message) -> None:
    decoded, rest = pyasn1_decoder.decode(ber.encode(msg), asn1Spec=pysnmp_v2c.Message())
    assert rest == b""
    pdu = pysnmp_v2c.apiMessage.get_pdu(decoded)
    assert int(pysnmp_v2c.apiPDU.get_request_id(pdu)) == msg.request_id
    theirs = [convert(tuple(oid), value) for oid, value in pysnmp_v2c.apiPDU.get_varbinds(pdu)]
    assert from_raw(msg.varbinds) == theirs


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_decode_of_arbitrary_bytes_raises_only_ber_error(data: bytes) -> None:
    try:
        ber.decode(data)
    except BerError:
        pass


@settings(max_examples=300)
@given(MESSAGES, st.data())
def test_decode_of_damaged_messages_raises_only_ber_error(msg: Message, data: st.DataObject) -> None:
    good = bytearray(ber.encode(msg))
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(good)))
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if action == "flip" and where < len(good):
            good[where] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del good[where : where + data.draw(st.integers(1, 8))]
        elif action == "insert":
            good[where:where] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del good[where:]
    try:
        result = ber.decode(bytes(good))
    except BerError:
        return
    assert ber.decode(ber.encode(result)) == result  # whatever decodes is a valid message
