"""An exact BER codec for SNMPv2c messages (RFC 3416 PDUs), and nothing more.

It encodes and decodes the one message shape v2c uses: SEQUENCE { version 1, community, PDU }, where the
PDU is request-id, two integers (error-status/error-index, or non-repeaters/max-repetitions in GETBULK) and
the varbind list. Values are the SMIv2 types a v2c agent answers with. Every length is checked against its
container and the datagram, so a malformed or hostile datagram raises ``BerError`` and nothing else.

A decoded varbind is ``(oid, tag, value)``: the value is an ``int`` (INTEGER, Counter32, Gauge32, TimeTicks,
Counter64), ``bytes`` (OCTET STRING, Opaque, IpAddress), an OID tuple, or ``None`` (NULL and the three
exceptions noSuchObject, noSuchInstance, endOfMibView).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Oid = tuple[int, ...]
Value = int | bytes | Oid | None
RawVarbind = tuple[Oid, int, Value]

INTEGER, OCTET_STRING, NULL, OBJECT_ID = 0x02, 0x04, 0x05, 0x06
IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
GET, GET_NEXT, RESPONSE, SET, GET_BULK, INFORM, TRAP_V2, REPORT = 0xA0, 0xA1, 0xA2, 0xA3, 0xA5, 0xA6, 0xA7, 0xA8
PDU_TYPES = frozenset({GET, GET_NEXT, RESPONSE, SET, GET_BULK, INFORM, TRAP_V2, REPORT})
EXCEPTIONS = frozenset({NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW})
VERSION_2C = 1
MAX_OID_ARCS = 128  # RFC 2578 section 3.5
MAX_BINDINGS, MAX_ERROR_STATUS = 2**31 - 1, 18  # RFC 3416

_U32, _U64, _I32 = (1 << 32) - 1, (1 << 64) - 1, 1 << 31
# Integer types: (lowest, highest, most content octets).
_RANGES = {
    INTEGER: (-_I32, _I32 - 1, 4),
    COUNTER32: (0, _U32, 5),
    GAUGE32: (0, _U32, 5),
    TIMETICKS: (0, _U32, 5),
    COUNTER64: (0, _U64, 9),
}
_FIRST_ARCS = tuple((0, b) if b < 40 else (1, b - 40) if b < 80 else (2, b - 80) for b in range(128))


class BerError(ValueError):
    """A datagram (or a value to encode) that is not valid SNMPv2c BER; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Message:
    """One SNMPv2c message. In GETBULK, error_status and error_index carry non-repeaters and max-repetitions."""

    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: tuple[RawVarbind, ...]


# --- decoding -----------------------------------------------------------------------------------------------


def decode(data: bytes) -> Message:
    """Decode one whole datagram; BerError on anything that is not an exact SNMPv2c message."""
    try:
        return _decode(data)
    except IndexError:  # reading past the end of the datagram: every other overrun is checked explicitly
        raise BerError(f"truncated datagram ({len(data)} bytes)") from None


def _header(data: bytes, i: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """(start, stop) of the contents of the TLV at i, which must have `tag` and fit before `end`."""
    if data[i] != tag:
        raise BerError(f"{what} at offset {i}: expected tag 0x{tag:02x}, got 0x{data[i]:02x}")
    n = data[i + 1]
    start = i + 2
    if n & 0x80:
        n, start = _long_length(data, i)
    stop = start + n
    if stop > end:
        raise BerError(f"{what} at offset {i}: length {n} runs past its container (ends at {end})")
    return start, stop


def _long_length(data: bytes, i: int) -> tuple[int, int]:
    width = data[i + 1] & 0x7F
    if width == 0:
        raise BerError(f"indefinite length at offset {i} (not allowed in SNMP)")
    if width > 4:
        raise BerError(f"length of {width} octets at offset {i}")
    start = i + 2 + width
    if start > len(data):
        raise BerError(f"truncated length at offset {i}")
    return int.from_bytes(data[i + 2 : start], "big"), start


def _integer(data: bytes, i: int, end: int, what: str) -> tuple[int, int]:
    start, stop = _header(data, i, end, INTEGER, what)
    return _number(INTEGER, data[start:stop], what), stop


def _decode(data: bytes) -> Message:
    total = len(data)
    start, stop = _header(data, 0, total, 0x30, "message")
    if stop != total:
        raise BerError(f"{total - stop} bytes after the message")
    version, i = _integer(data, start, stop, "version")
    if version != VERSION_2C:
        raise BerError(f"version {version} is not SNMPv2c (1)")
    c_start, i = _header(data, i, stop, OCTET_STRING, "community")
    community = data[c_start:i]
    pdu_type = data[i]
    if pdu_type not in PDU_TYPES:
        raise BerError(f"unknown PDU type 0x{pdu_type:02x} at offset {i}")
    i, pdu_end = _header(data, i, stop, pdu_type, "PDU")
    if pdu_end != stop:
        raise BerError(f"{stop - pdu_end} bytes after the PDU")
    request_id, i = _integer(data, i, pdu_end, "request-id")
    first, i = _integer(data, i, pdu_end, "error-status")
    second, i = _integer(data, i, pdu_end, "error-index")
    _check_fields(pdu_type, first, second)
    i, vbl_end = _header(data, i, pdu_end, 0x30, "varbind list")
    if vbl_end != pdu_end:
        raise BerError(f"{pdu_end - vbl_end} bytes after the varbind list")
    return Message(community, pdu_type, request_id, first, second, _varbinds(data, i, vbl_end))


def _check_fields(pdu_type: int, first: int, second: int) -> None:
    # RFC 3416: error-status 0..18; error-index, non-repeaters and max-repetitions 0..max-bindings.
    if not 0 <= first <= (MAX_BINDINGS if pdu_type == GET_BULK else MAX_ERROR_STATUS) or second < 0:
        names = "non-repeaters/max-repetitions" if pdu_type == GET_BULK else "error-status/error-index"
        raise BerError(f"{names} {first}/{second} out of range")


def _varbinds(data: bytes, i: int, end: int) -> tuple[RawVarbind, ...]:
    # The hot loop of every walk: short lengths are read inline, long ones by _long_length.
    out: list[RawVarbind] = []
    append = out.append
    first_arcs, ranges, from_bytes = _FIRST_ARCS, _RANGES, int.from_bytes
    while i < end:
        if data[i] != 0x30:
            raise BerError(f"varbind at offset {i}: expected SEQUENCE, got tag 0x{data[i]:02x}")
        n = data[i + 1]
        j = i + 2
        if n & 0x80:
            n, j = _long_length(data, i)
        vb_end = j + n
        if vb_end > end:
            raise BerError(f"varbind at offset {i} runs past the varbind list")
        if data[j] != OBJECT_ID:
            raise BerError(f"varbind name at offset {j}: expected OID, got tag 0x{data[j]:02x}")
        n = data[j + 1]
        k = j + 2
        if n & 0x80:
            n, k = _long_length(data, j)
        i = k + n  # now the value's offset
        if i >= vb_end:
            raise BerError(f"varbind name at offset {j} leaves no room for a value")
        raw = data[k:i]
        # Almost every arc is below 128: one octet each, and isascii() checks them all in C.
        oid = first_arcs[raw[0]] + tuple(raw[1:]) if 0 < n < MAX_OID_ARCS and raw.isascii() else decode_oid(raw)
        tag = data[i]
        n = data[i + 1]
        k = i + 2
        if n & 0x80:
            n, k = _long_length(data, i)
        if k + n != vb_end:
            raise BerError(f"value at offset {i}: length {n} does not fill its varbind")
        bounds = ranges.get(tag)
        if bounds is not None:  # the integer types, inline: most of a walk's values are counters
            value: Value = from_bytes(data[k:vb_end], "big", signed=True)
            if not (0 < n <= bounds[2] and bounds[0] <= value <= bounds[1]):  # type: ignore[operator]
                _number(tag, data[k:vb_end], f"value at offset {i}")  # raises with the reason
        else:
            parse = _VALUES.get(tag)
            if parse is None:
                raise BerError(f"value at offset {i}: unknown type tag 0x{tag:02x}")
            value = parse(data[k:vb_end])
        append((oid, tag, value))
        i = vb_end
    return tuple(out)


def _number(tag: int, raw: bytes, what: str = "value") -> int:
    low, high, width = _RANGES[tag]
    if not 0 < len(raw) <= width:
        raise BerError(f"{what}: integer of {len(raw)} octets for type 0x{tag:02x}")
    value = int.from_bytes(raw, "big", signed=True)
    if not low <= value <= high:
        raise BerError(f"{what}: {value} is out of range for type 0x{tag:02x}")
    return value


def _null(raw: bytes) -> None:
    if raw:
        raise BerError(f"NULL or exception value with {len(raw)} content octets")
    return None


def _ip(raw: bytes) -> bytes:
    if len(raw) != 4:
        raise BerError(f"IpAddress of {len(raw)} octets")
    return raw


def decode_oid(raw: bytes) -> Oid:
    """OID contents octets -> arcs, with multi-octet arcs; BerError on empty, non-minimal or oversized."""
    if not raw:
        raise BerError("empty OID")
    if raw[-1] & 0x80:
        raise BerError("OID ends inside an arc")
    arcs: list[int] = []
    append = arcs.append
    value = 0  # the arc being read, already shifted for its next octet
    for b in raw:
        if b < 0x80:
            append(value | b)
            value = 0
        elif value or b != 0x80:
            value = (value | (b & 0x7F)) << 7
        else:
            raise BerError("OID arc with a leading 0x80 octet (not minimal)")
    first = arcs[0]
    arcs[0:1] = (first // 40, first % 40) if first < 80 else (2, first - 80)
    if len(arcs) > MAX_OID_ARCS or max(arcs) > _U32:
        raise BerError(f"OID with {len(arcs)} arcs or an arc above 2**32-1")
    return tuple(arcs)


_VALUES: dict[int, Callable[[bytes], Value]] = {
    OCTET_STRING: bytes,
    OPAQUE: bytes,
    IP_ADDRESS: _ip,
    OBJECT_ID: decode_oid,
    NULL: _null,
    NO_SUCH_OBJECT: _null,
    NO_SUCH_INSTANCE: _null,
    END_OF_MIB_VIEW: _null,
}


# --- encoding -----------------------------------------------------------------------------------------------


def encode(msg: Message) -> bytes:
    """Encode a message; BerError when a field or value does not fit its SNMP type."""
    if msg.pdu_type not in PDU_TYPES:
        raise BerError(f"unknown PDU type 0x{msg.pdu_type:02x}")
    _check_fields(msg.pdu_type, msg.error_status, msg.error_index)
    vbl = b"".join(
        _tlv(0x30, _tlv(OBJECT_ID, encode_oid(oid)) + encode_value(tag, value)) for oid, tag, value in msg.varbinds
    )
    pdu = (
        encode_int(INTEGER, msg.request_id)
        + encode_int(INTEGER, msg.error_status)
        + encode_int(INTEGER, msg.error_index)
        + _tlv(0x30, vbl)
    )
    return _tlv(0x30, b"\x02\x01\x01" + _tlv(OCTET_STRING, msg.community) + _tlv(msg.pdu_type, pdu))


def request(
    community: bytes, pdu_type: int, request_id: int, oids: Sequence[Oid], first: int = 0, second: int = 0
) -> bytes:
    """A GET, GETNEXT or GETBULK request: every varbind's value is NULL."""
    return encode(Message(community, pdu_type, request_id, first, second, tuple((oid, NULL, None) for oid in oids)))


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    width = (n.bit_length() + 7) // 8
    if width > 4:
        raise BerError(f"{n} octets do not fit an SNMP length")
    return bytes((tag, 0x80 | width)) + n.to_bytes(width, "big") + body


def encode_int(tag: int, value: int) -> bytes:
    """INTEGER, Counter32, Gauge32, TimeTicks or Counter64, in the fewest octets (two's complement)."""
    low, high, _ = _RANGES[tag]
    if not isinstance(value, int) or not low <= value <= high:
        raise BerError(f"{value!r} is out of range for type 0x{tag:02x}")
    width = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return _tlv(tag, value.to_bytes(width, "big", signed=True))


def encode_oid(oid: Oid) -> bytes:
    """OID arcs -> contents octets; BerError when it is not a valid SNMP OID."""
    if not 2 <= len(oid) <= MAX_OID_ARCS or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39):
        raise BerError(f"cannot encode OID {oid!r}: first arc 0-2, second 0-39, 2 to 128 arcs")
    if min(oid) < 0 or max(oid) > _U32:
        raise BerError(f"cannot encode OID {oid!r}: arcs must be 0 to 2**32-1")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = []
        while arc:
            chunk.append((arc & 0x7F) | 0x80)
            arc >>= 7
        chunk[0] &= 0x7F
        out += bytes(reversed(chunk))
    return bytes(out)


def encode_value(tag: int, value: Value) -> bytes:
    """One varbind value as a TLV."""
    if tag in _RANGES:
        if not isinstance(value, int):
            raise BerError(f"type 0x{tag:02x} needs an int, got {type(value).__name__}")
        return encode_int(tag, value)
    if tag in EXCEPTIONS:
        if value is not None:
            raise BerError(f"type 0x{tag:02x} carries no value")
        return bytes((tag, 0))
    if tag == OBJECT_ID and isinstance(value, tuple):
        return _tlv(tag, encode_oid(value))
    if tag in (OCTET_STRING, OPAQUE, IP_ADDRESS) and isinstance(value, bytes):
        return _tlv(tag, _ip(value) if tag == IP_ADDRESS else value)
    raise BerError(f"cannot encode {type(value).__name__} as type 0x{tag:02x}")
