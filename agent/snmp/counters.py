"""Per-second rates from SNMP counters sampled at each poll, with 32- and 64-bit wrap handling."""

from __future__ import annotations

from dataclasses import dataclass, field


def counter_delta(old: int, new: int, bits: int) -> int:
    """Increase of a CounterN from `old` to `new`; a smaller `new` means one wrap past 2**bits - 1.

    RFC 2578 counters only increase and wrap to zero at 2**bits. A reset (agent restart) also looks like a
    wrap, which is why callers drop every counter sample when a reboot is detected.
    """
    if bits not in (32, 64):
        raise ValueError(f"counters are 32 or 64 bits wide, not {bits}")
    modulus = 1 << bits
    if not (0 <= old < modulus and 0 <= new < modulus):
        raise ValueError(f"counter values must lie in [0, 2**{bits})")
    return (new - old) % modulus


@dataclass
class CounterRates:
    """Remembers the last sample of each counter and turns the next one into a rate per second."""

    _last: dict[str, tuple[int, float]] = field(default_factory=dict)

    def rate(self, key: str, value: int, bits: int, at: float) -> float | None:
        """The per-second rate since the previous sample of `key` (None on the first sample or no elapsed time).

        `at` is a monotonic time in seconds.
        """
        previous = self._last.get(key)
        self._last[key] = (value, at)
        if previous is None:
            return None
        old, old_at = previous
        elapsed = at - old_at
        if elapsed <= 0:
            return None
        return counter_delta(old, value, bits) / elapsed

    def reset(self) -> None:
        """Forget every sample (after a reboot the counters restart from zero, which is not a wrap)."""
        self._last.clear()
