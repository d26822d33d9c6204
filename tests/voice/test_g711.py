"""G.711 against the reference the standard library shipped until Python 3.13 (audioop), byte for byte."""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.voice import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop")

_REF: dict[str, tuple[Callable[[bytes, int], bytes], Callable[[bytes, int], bytes]]] = {
    "pcmu": (audioop.lin2ulaw, audioop.ulaw2lin),
    "pcma": (audioop.lin2alaw, audioop.alaw2lin),
}


@pytest.mark.parametrize("codec", g711.CODECS)
def test_decode_matches_reference_for_all_256_codes(codec: g711.Codec) -> None:
    codes = bytes(range(256))
    expected = list(struct.unpack("<256h", _REF[codec][1](codes, 2)))
    assert g711.decode(codes, codec) == expected


@pytest.mark.parametrize("codec", g711.CODECS)
def test_encode_matches_reference_for_every_16_bit_sample(codec: g711.Codec) -> None:
    samples = list(range(-32768, 32768))
    expected = _REF[codec][0](struct.pack(f"<{len(samples)}h", *samples), 2)
    assert g711.encode(samples, codec) == expected


@pytest.mark.parametrize("codec", g711.CODECS)
def test_silence_decodes_to_the_smallest_level(codec: g711.Codec) -> None:
    # A-law has no code for zero: its quietest code decodes to +8
    assert set(g711.decode(g711.silence(codec), codec)) == ({0} if codec == "pcmu" else {8})


@given(st.binary(min_size=1, max_size=200), st.sampled_from(g711.CODECS))
def test_decode_then_encode_is_identity_on_codes(data: bytes, codec: g711.Codec) -> None:
    # mu-law has two codes for zero (0x7F and 0xFF); encoding picks 0xFF
    result = g711.encode(g711.decode(data, codec), codec)
    if codec == "pcmu":
        data = data.replace(b"\x7f", b"\xff")
    assert result == data


def test_unknown_codec_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown codec 'g729'"):
        g711.encode([0], "g729")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown codec 'g729'"):
        g711.decode(b"\x00", "g729")  # type: ignore[arg-type]


def test_transcoding_between_laws_keeps_the_signal() -> None:
    samples = [int(8000 * ((i % 40) - 20) / 20) for i in range(160)]
    ulaw = g711.encode(samples, "pcmu")
    back = g711.decode(g711.transcode(ulaw, "pcmu", "pcma"), "pcma")
    assert all(abs(a - b) <= max(64, abs(a) // 16) for a, b in zip(samples, back, strict=True))
