"""The simplified G.107 E-model against values computed by hand from the Recommendation's formulas."""

from __future__ import annotations

import pytest

from agent.voice.mos import (
    BPL_G711_NO_PLC,
    delay_impairment,
    effective_equipment_impairment,
    mos,
    r_factor,
    r_to_mos,
)


def test_a_perfect_g711_call_rates_r_93_2_and_mos_4_41() -> None:
    assert r_factor(0.0, 0.0) == pytest.approx(93.2)
    assert mos(0.0) == 4.41


def test_loss_impairment_with_plc() -> None:
    # Ppl = 10 %: Ie,eff = 95 * 10 / (10 + 25.1) = 27.066; R = 66.134; MOS = 3.41
    assert effective_equipment_impairment(0.10) == pytest.approx(95 * 10 / 35.1)
    assert mos(0.10) == 3.41


def test_without_plc_loss_hurts_more() -> None:
    # Ppl = 2 %, Bpl = 4.3: Ie,eff = 95 * 2 / 6.3 = 30.16; R = 63.04; MOS = 3.26
    assert mos(0.02, bpl=BPL_G711_NO_PLC) == 3.26
    assert mos(0.02) > mos(0.02, bpl=BPL_G711_NO_PLC)


def test_bursty_loss_hurts_more_than_random_loss() -> None:
    assert mos(0.05, burst_ratio=2.0) < mos(0.05)


def test_delay_impairment_follows_g107_idd() -> None:
    assert delay_impairment(0.1) == 0.0
    # Ta = 200 ms: X = 1; Idd = 25 * (2**(1/6) - 3 * (1 + 3**-6)**(1/6) + 2) = 3.0453
    assert delay_impairment(0.2) == pytest.approx(25 * (2 ** (1 / 6) - 3 * (1 + 3**-6) ** (1 / 6) + 2))
    assert delay_impairment(0.4) > delay_impairment(0.2) > 0


def test_r_to_mos_is_clamped_and_monotonic() -> None:
    assert r_to_mos(-5) == 1.0
    assert r_to_mos(120) == 4.5
    values = [r_to_mos(r) for r in range(0, 101)]
    assert values == sorted(values)
    assert min(values) >= 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss_ratio": 1.5}, "loss ratio must lie in"),
        ({"loss_ratio": 0.1, "bpl": 0}, "Bpl and BurstR must be positive"),
        ({"loss_ratio": 0.1, "one_way_delay": -1}, "one-way delay must be"),
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mos(**kwargs)
