"""Incident priorities from probe evidence, and their response, RFO and resolution due times. Pure.

P1 clocks run 24x7. For P2 and P3 the response clock counts support hours and the resolution clock counts
support days (the support calendar). The RFO is due "within" 48 or 96 elapsed hours for every priority:
the contract says support days where it means them, and an RFO is written after the event, not by the
desk's clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from agent.contract.support_hours import SupportCalendar
from agent.core.clock import utc

Basis = Literal["elapsed", "support_hours", "support_days"]


class Priority(enum.StrEnum):
    """Incident priority, P1 the most severe."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


@dataclass(frozen=True, slots=True)
class Term:
    """One due time: an amount (hours, or support days) counted on a basis."""

    amount: float
    basis: Basis

    def describe(self) -> str:
        """E.g. '4 h (24x7)', '8 support hours', '5 support days'."""
        if self.basis == "elapsed":
            return f"{self.amount:g} h (24x7)"
        return f"{self.amount:g} {self.basis.replace('_', ' ')}"


POLICY: dict[Priority, dict[str, Term]] = {
    Priority.P1: {
        "response": Term(4, "elapsed"),
        "rfo": Term(48, "elapsed"),
        "resolution": Term(48, "elapsed"),
    },
    Priority.P2: {
        "response": Term(8, "support_hours"),
        "rfo": Term(96, "elapsed"),
        "resolution": Term(5, "support_days"),
    },
    Priority.P3: {
        "response": Term(24, "support_hours"),
        "rfo": Term(96, "elapsed"),
        "resolution": Term(15, "support_days"),
    },
}
"""The contract's table: response, reason-for-outage (RFO) and resolution per priority."""


def priority_from_evidence(
    voice_failing: int,
    voice_total: int,
    *,
    other_failing: int = 0,
    registration_failed_everywhere: bool = False,
) -> Priority | None:
    """P1 when every voice target fails or registration fails everywhere; P2 when only some fail; else None."""
    if voice_total < 0 or not 0 <= voice_failing <= voice_total:
        raise ValueError(f"voice targets: {voice_failing} failing of {voice_total} is not possible")
    if other_failing < 0:
        raise ValueError("other_failing cannot be negative")
    if registration_failed_everywhere or (voice_total > 0 and voice_failing == voice_total):
        return Priority.P1
    if voice_failing > 0 or other_failing > 0:
        return Priority.P2
    return None


@dataclass(frozen=True, slots=True)
class Deadlines:
    """The due times of one incident (aware UTC)."""

    priority: Priority
    opened_at: datetime
    response: datetime
    rfo: datetime
    resolution: datetime

    def to_json(self) -> dict[str, object]:
        """A stable JSON shape, with the basis of each due time."""
        terms = POLICY[self.priority]
        out: dict[str, object] = {"priority": str(self.priority), "opened_at": self.opened_at.isoformat()}
        for name in ("response", "rfo", "resolution"):
            out[name] = {"due": getattr(self, name).isoformat(), "term": terms[name].describe()}
        return out


def due(term: Term, opened_at: datetime, support: SupportCalendar) -> datetime:
    """When `term` runs out for an incident opened at `opened_at`."""
    if term.basis == "elapsed":
        return opened_at + timedelta(hours=term.amount)
    if term.basis == "support_hours":
        return support.add(opened_at, timedelta(hours=term.amount))
    return support.add_days(opened_at, term.amount)


def deadlines(priority: Priority | str, opened_at: datetime, support: SupportCalendar | None = None) -> Deadlines:
    """Response, RFO and resolution due times for an incident of `priority` opened at `opened_at`."""
    try:
        p = Priority(str(priority).upper())
    except ValueError:
        raise ValueError(f"unknown priority {priority!r}; use P1, P2 or P3") from None
    opened = utc(opened_at)
    cal = support or SupportCalendar()
    terms = POLICY[p]
    return Deadlines(
        priority=p,
        opened_at=opened,
        response=due(terms["response"], opened, cal),
        rfo=due(terms["rfo"], opened, cal),
        resolution=due(terms["resolution"], opened, cal),
    )
