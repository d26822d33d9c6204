"""Tone and DTMF generation, and DTMF detection with the Goertzel algorithm on G.711 audio.

Detection evaluates the eight DTMF frequencies on each received frame. The single-bin power it needs is the
Goertzel output; `goertzel_power` is the textbook recursion, while the detector computes the same quantity as
a correlation with precomputed cosine and sine rows, which runs in C through `map` and so costs a fraction of
a per-sample Python loop. A digit is reported once when two consecutive frames (40 ms at 20 ms ptime) agree,
and again only after the tone stopped for two frames, as ITU-T Q.24 timing allows.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Iterator

from agent.voice import g711
from agent.voice.g711 import Codec

ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")
DTMF_DIGITS = "0123456789*#ABCD"
FRAME_SAMPLES = 160
DEFAULT_AMPLITUDE = 7000
"""Per tone, in 16-bit linear units: about -7 dBm0 each, so the pair never clips."""

_DIGIT_FREQS = {d: (ROWS[r], COLUMNS[c]) for r, row in enumerate(KEYPAD) for c, d in enumerate(row)}
_ALL_FREQS = ROWS + COLUMNS
_MIN_RMS = 150.0
"""Below about -47 dBm0 a frame is too quiet to carry a digit; skip the spectral work entirely."""
_MIN_TONE_SHARE = 0.7
"""The two tones must carry this share of the frame's energy (speech and noise spread theirs)."""
_MAX_TWIST = 10 ** (8 / 10)
_NEIGHBOUR_SHARE = 10 ** (-6 / 10)


def validate_digits(digits: str) -> str:
    """Upper-cased digits, or ValueError naming the first character that is not a DTMF digit."""
    out = digits.upper()
    for ch in out:
        if ch not in _DIGIT_FREQS:
            raise ValueError(f"{ch!r} is not a DTMF digit; use 0-9, *, #, A-D")
    return out


def digit_frequencies(digit: str) -> tuple[float, float]:
    """The (row, column) frequencies in Hz of a DTMF digit."""
    return _DIGIT_FREQS[validate_digits(digit)]


def tone_samples(freqs: tuple[float, ...], count: int, start: int = 0, amplitude: int = DEFAULT_AMPLITUDE) -> list[int]:
    """`count` samples of the sum of sines at `freqs`, starting at sample index `start` (phase-continuous)."""
    steps = [2 * math.pi * f / g711.SAMPLE_RATE for f in freqs]
    return [round(amplitude * sum(math.sin(w * n) for w in steps)) for n in range(start, start + count)]


def tone_frames(freq: float, codec: Codec, amplitude: int = DEFAULT_AMPLITUDE) -> Iterator[bytes]:
    """An endless, phase-continuous tone (e.g. 1004 Hz test tone) as G.711 frames of 20 ms."""
    # Integer frequencies repeat after 8000/gcd samples, so one precomputed period loops without a phase jump.
    period = g711.SAMPLE_RATE // math.gcd(g711.SAMPLE_RATE, round(freq)) if freq == round(freq) else 8000
    encoded = g711.encode(tone_samples((freq,), period, 0, amplitude), codec)
    cycle = encoded * (1 + -(-FRAME_SAMPLES // period))
    index = 0
    while True:
        yield cycle[index : index + FRAME_SAMPLES]
        index = (index + FRAME_SAMPLES) % period


def dtmf_frames(
    digits: str, codec: Codec, *, duration: float = 0.1, gap: float = 0.1, amplitude: int = DEFAULT_AMPLITUDE
) -> Iterator[bytes]:
    """In-band DTMF: each digit's tone pair for `duration`, then `gap` of silence, as 20 ms G.711 frames."""
    digits = validate_digits(digits)
    off = max(1, round(gap / 0.02))
    quiet = g711.silence(codec)
    for digit in digits:
        yield from _digit_tone(digit, codec, max(1, round(duration / 0.02)), amplitude)
        for _ in range(off):
            yield quiet


@functools.lru_cache(maxsize=256)
def _digit_tone(digit: str, codec: Codec, frames: int, amplitude: int) -> tuple[bytes, ...]:
    # Cached: synthesising a digit costs about a millisecond, too long to spend inside a media tick.
    pair = _DIGIT_FREQS[digit]
    return tuple(
        g711.encode(tone_samples(pair, FRAME_SAMPLES, i * FRAME_SAMPLES, amplitude), codec) for i in range(frames)
    )


def goertzel_power(samples: list[int], freq: float, rate: int = g711.SAMPLE_RATE) -> float:
    """Squared magnitude of one DFT bin at `freq`, by the Goertzel recursion."""
    w = 2 * math.pi * freq / rate
    coeff = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


_Basis = list[tuple[list[float], list[float], float, float]]
_BASIS_CACHE: dict[int, _Basis] = {}


def _basis(n: int) -> _Basis:
    """Cosine and sine rows of each DTMF frequency for blocks of n samples, with their squared norms."""
    rows = _BASIS_CACHE.get(n)
    if rows is None:
        rows = []
        for f in _ALL_FREQS:
            w = 2 * math.pi * f / g711.SAMPLE_RATE
            cos_row = [math.cos(w * i) for i in range(n)]
            sin_row = [math.sin(w * i) for i in range(n)]
            rows.append((cos_row, sin_row, math.fsum(v * v for v in cos_row), math.fsum(v * v for v in sin_row)))
        _BASIS_CACHE[n] = rows
    return rows


def tone_shares(samples: list[int], energy: float | None = None) -> list[float] | None:
    """Share of the block's energy at each DTMF frequency (rows then columns); None when too quiet."""
    n = len(samples)
    if n == 0:
        return None
    if energy is None:
        energy = float(sum(map(operator.mul, samples, samples)))
    if energy < _MIN_RMS * _MIN_RMS * n:
        return None
    # x.c = (|x|^2 + |c|^2 - dist(x, c)^2) / 2: math.dist runs the whole dot product in C, about three
    # times faster than sum(map(mul, ...)) on Python 3.11, which has no math.sumprod.
    dist = math.dist
    shares = []
    for cos_row, sin_row, cos_norm, sin_norm in _basis(n):
        re = (energy + cos_norm - dist(samples, cos_row) ** 2) * 0.5
        im = (energy + sin_norm - dist(samples, sin_row) ** 2) * 0.5
        shares.append(2.0 * (re * re + im * im) / (n * energy))
    return shares


def _best(values: list[float]) -> tuple[int, float, float]:
    order = sorted(range(len(values)), key=values.__getitem__, reverse=True)
    return order[0], values[order[0]], values[order[1]]


def detect_digit(samples: list[int], energy: float | None = None) -> str | None:
    """The DTMF digit present throughout this block of 16-bit samples at 8 kHz, or None."""
    shares = tone_shares(samples, energy)
    if shares is None:
        return None
    r, row, row_next = _best(shares[:4])
    c, col, col_next = _best(shares[4:])
    if row + col < _MIN_TONE_SHARE:
        return None
    if not 1 / _MAX_TWIST <= col / row <= _MAX_TWIST:
        return None
    if row_next > row * _NEIGHBOUR_SHARE or col_next > col * _NEIGHBOUR_SHARE:
        return None
    return KEYPAD[r][c]


class DtmfDetector:
    """Frame-by-frame in-band DTMF detection on one G.711 stream; `feed` returns each digit once."""

    __slots__ = ("_candidate", "_count", "_current", "_misses", "_squares", "_table")

    def __init__(self, codec: Codec) -> None:
        self._table = g711.DECODE[codec]
        self._squares = tuple(float(v * v) for v in self._table)
        self._candidate: str | None = None
        self._count = 0
        self._current: str | None = None
        self._misses = 0

    def feed(self, frame: bytes) -> str | None:
        """Analyse one received frame; return a digit when it is newly confirmed."""
        energy = sum(map(self._squares.__getitem__, frame))
        if energy < _MIN_RMS * _MIN_RMS * len(frame):
            found = None  # quiet frames (most of a call) skip decoding and the spectral work
        else:
            found = detect_digit(list(map(self._table.__getitem__, frame)), energy)
        if found is not None and found == self._candidate:
            self._count += 1
        else:
            self._candidate, self._count = found, 1
        if found is not None and found == self._current:
            self._misses = 0
            return None
        self._misses += 1
        if self._misses >= 2:
            self._current = None
        if found is not None and self._count >= 2:
            self._current, self._misses = found, 0
            return found
        return None


TONE_MIN_SHARE = 0.7
"""A test tone must carry this share of a frame's energy at its frequency. Over a 20 ms frame (160 samples,
a 50 Hz bin) that admits a tone within about 15 Hz of the one asked for: 1004 Hz finds a 1000 Hz milliwatt
too, while speech, DTMF pairs and noise spread their energy and stay far below."""


class ToneDetector:
    """Counts the frames of one G.711 stream that carry a steady single tone at `freq` (a milliwatt test line).

    `feed` decides one 20 ms frame: loud enough (above about -47 dBm0) and at least TONE_MIN_SHARE of its
    energy in the Goertzel bin at `freq`. `frames` is how many frames were fed, `tone_frames` how many held it.
    """

    __slots__ = ("_rows", "_squares", "_table", "frames", "freq", "tone_frames")

    def __init__(self, freq: float, codec: Codec) -> None:
        if not 0 < freq < g711.SAMPLE_RATE / 2:
            raise ValueError(f"tone frequency {freq:g} Hz is outside 0..{g711.SAMPLE_RATE // 2} Hz")
        self.freq = freq
        self._table = g711.DECODE[codec]
        self._squares = tuple(float(v * v) for v in self._table)
        self._rows: dict[int, tuple[list[float], list[float], float, float]] = {}
        self.frames = 0
        self.tone_frames = 0

    def _basis(self, n: int) -> tuple[list[float], list[float], float, float]:
        rows = self._rows.get(n)
        if rows is None:
            w = 2 * math.pi * self.freq / g711.SAMPLE_RATE
            cos_row = [math.cos(w * i) for i in range(n)]
            sin_row = [math.sin(w * i) for i in range(n)]
            rows = self._rows[n] = (
                cos_row, sin_row, math.fsum(v * v for v in cos_row), math.fsum(v * v for v in sin_row)
            )  # fmt: skip
        return rows

    def share(self, frame: bytes) -> float:
        """The share of this frame's energy at `freq` (0 when the frame is too quiet to judge)."""
        n = len(frame)
        energy = sum(map(self._squares.__getitem__, frame))
        if n == 0 or energy < _MIN_RMS * _MIN_RMS * n:
            return 0.0
        samples = list(map(self._table.__getitem__, frame))
        cos_row, sin_row, cos_norm, sin_norm = self._basis(n)
        re = (energy + cos_norm - math.dist(samples, cos_row) ** 2) * 0.5
        im = (energy + sin_norm - math.dist(samples, sin_row) ** 2) * 0.5
        return 2.0 * (re * re + im * im) / (n * energy)

    def feed(self, frame: bytes) -> bool:
        """Judge one received frame; True when it carries the tone."""
        self.frames += 1
        if self.share(frame) >= TONE_MIN_SHARE:
            self.tone_frames += 1
            return True
        return False
