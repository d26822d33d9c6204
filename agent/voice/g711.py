"""ITU-T G.711 companding: PCMU (mu-law) and PCMA (A-law), between bytes and 16-bit linear samples.

Decoding is a 256-entry table; encoding is a table indexed by the sample's top 14 (mu-law) or 13 (A-law)
bits, which is exactly the resolution each law keeps, so the tables lose nothing against the formulas.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

Codec = Literal["pcmu", "pcma"]
CODECS: tuple[Codec, ...] = ("pcmu", "pcma")
SAMPLE_RATE = 8000
SILENCE_BYTE: dict[Codec, int] = {"pcmu": 0xFF, "pcma": 0xD5}
"""The code for a zero sample in each law."""

_BIAS = 0x84
_CLIP = 32635


def _ulaw_encode_one(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, _CLIP) + _BIAS
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _ulaw_decode_one(code: int) -> int:
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + _BIAS) << exponent) - _BIAS
    return -magnitude if code & 0x80 else magnitude


def _alaw_encode_one(sample: int) -> int:
    if sample >= 0:
        mask, magnitude = 0xD5, sample
    else:
        mask, magnitude = 0x55, -sample - 1
    magnitude = min(magnitude, 32767) >> 3  # A-law keeps 13 bits: 12 of magnitude and the sign
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (code ^ mask) & 0xFF


def _alaw_decode_one(code: int) -> int:
    code ^= 0x55
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if code & 0x80 else -magnitude


DECODE: dict[Codec, tuple[int, ...]] = {
    "pcmu": tuple(_ulaw_decode_one(c) for c in range(256)),
    "pcma": tuple(_alaw_decode_one(c) for c in range(256)),
}
"""codec -> 256 linear samples, indexed by the code byte."""

# Index by the sample's top bits: mu-law resolves 14 bits, A-law 13 bits.
_ULAW_ENC = bytes(_ulaw_encode_one(((i << 2) ^ 0x8000) - 0x8000) for i in range(1 << 14))
_ALAW_ENC = bytes(_alaw_encode_one(((i << 3) ^ 0x8000) - 0x8000) for i in range(1 << 13))


def encode(samples: Iterable[int], codec: Codec) -> bytes:
    """16-bit linear samples (clipped to int16) -> G.711 bytes."""
    if codec == "pcmu":
        table, shift, mask = _ULAW_ENC, 2, 0x3FFF
    elif codec == "pcma":
        table, shift, mask = _ALAW_ENC, 3, 0x1FFF
    else:
        raise ValueError(f"unknown codec {codec!r}; expected one of {', '.join(CODECS)}")
    return bytes(table[(max(-32768, min(32767, s)) >> shift) & mask] for s in samples)


def decode(data: bytes, codec: Codec) -> list[int]:
    """G.711 bytes -> 16-bit linear samples."""
    try:
        table = DECODE[codec]
    except KeyError:
        raise ValueError(f"unknown codec {codec!r}; expected one of {', '.join(CODECS)}") from None
    return list(map(table.__getitem__, data))


def silence(codec: Codec, samples: int = 160) -> bytes:
    """A frame of digital silence in `codec`."""
    return bytes([SILENCE_BYTE[codec]]) * samples


def payload_type(codec: Codec) -> int:
    """The static RTP payload type of `codec` (RFC 3551)."""
    return {"pcmu": 0, "pcma": 8}[codec]


def codec_for_payload_type(pt: int) -> Codec | None:
    """The G.711 codec of a static payload type, or None."""
    return {0: "pcmu", 8: "pcma"}.get(pt)  # type: ignore[return-value]


def transcode(data: bytes, source: Codec, target: Codec) -> bytes:
    """Re-encode G.711 bytes from one law to the other (as a gateway between carriers would)."""
    samples: Sequence[int] = decode(data, source)
    return encode(samples, target)
