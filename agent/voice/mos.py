"""A simplified ITU-T G.107 E-model: R = 93.2 - Id - Ie,eff, and R converted to MOS (G.107 annex B).

Simplifications, stated so nobody reads more into the figure than it holds:
- Every parameter other than delay and packet loss keeps its G.107 default, which gives R = 93.2.
- Echo is assumed controlled, so Id is only the pure-delay term Idd of G.107 (mT = 100 ms, sT = 1),
  zero up to 100 ms of one-way delay.
- G.711 has Ie = 0. Bpl is 25.1 with packet-loss concealment (G.113 appendix I), 4.3 without.
- Random loss has BurstR = 1; a caller that measured burstiness passes its own ratio.
"""

from __future__ import annotations

import math

R_DEFAULT = 93.2
BPL_G711_PLC = 25.1
BPL_G711_NO_PLC = 4.3


def delay_impairment(one_way_delay: float) -> float:
    """Idd of G.107 for a mean one-way (mouth-to-ear) delay in seconds."""
    if one_way_delay < 0 or math.isnan(one_way_delay):
        raise ValueError(f"one-way delay must be a non-negative number of seconds, got {one_way_delay}")
    ta_ms = one_way_delay * 1000.0
    if ta_ms <= 100.0:
        return 0.0
    x = math.log10(ta_ms / 100.0) / math.log10(2.0)
    return 25.0 * (math.pow(1 + x**6, 1 / 6) - 3 * math.pow(1 + (x / 3) ** 6, 1 / 6) + 2)


def effective_equipment_impairment(
    loss_ratio: float, *, ie: float = 0.0, bpl: float = BPL_G711_PLC, burst_ratio: float = 1.0
) -> float:
    """Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl), with Ppl in percent."""
    if not 0.0 <= loss_ratio <= 1.0:
        raise ValueError(f"loss ratio must lie in [0, 1], got {loss_ratio}")
    if bpl <= 0 or burst_ratio <= 0:
        raise ValueError(f"Bpl and BurstR must be positive, got Bpl={bpl}, BurstR={burst_ratio}")
    ppl = loss_ratio * 100.0
    return ie + (95.0 - ie) * ppl / (ppl / burst_ratio + bpl)


def r_factor(
    loss_ratio: float,
    one_way_delay: float = 0.0,
    *,
    ie: float = 0.0,
    bpl: float = BPL_G711_PLC,
    burst_ratio: float = 1.0,
) -> float:
    """The transmission rating R for the given loss share and one-way delay (seconds)."""
    impairment = effective_equipment_impairment(loss_ratio, ie=ie, bpl=bpl, burst_ratio=burst_ratio)
    return R_DEFAULT - delay_impairment(one_way_delay) - impairment


def r_to_mos(r: float) -> float:
    """G.107 annex B: the estimated conversational MOS (1 to 4.5) for a rating R."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return max(1.0, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6)


def mos(
    loss_ratio: float,
    one_way_delay: float = 0.0,
    *,
    ie: float = 0.0,
    bpl: float = BPL_G711_PLC,
    burst_ratio: float = 1.0,
) -> float:
    """MOS from packet loss and one-way delay, rounded to 2 decimals like every published MOS figure."""
    r = r_factor(loss_ratio, one_way_delay, ie=ie, bpl=bpl, burst_ratio=burst_ratio)
    return round(r_to_mos(r), 2)
