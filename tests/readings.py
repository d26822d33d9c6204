"""Typed reads of a ProbeResult's values, for tests that compare a reading with numbers."""

from __future__ import annotations


def number(value: object) -> float:
    """`value` as a real number; fails the test when it is a bool, a string or anything else."""
    assert isinstance(value, int | float) and not isinstance(value, bool), f"not a number: {value!r}"
    return value
