"""Helpers for the history tests: a settable clock and result/transition factories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.core.model import ProbeResult, Transition

T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.at = now
        self.mono = 1000.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
        self.mono += seconds


def result(target: str = "web", at: datetime = T0, ok: bool = True, **kw: object) -> ProbeResult:
    """A ProbeResult with sensible defaults."""
    fields: dict[str, object] = {"kind": "http", "duration": 0.25, "started_at": at, "ok": ok}
    fields.update(kw)
    return ProbeResult(target=target, **fields)  # type: ignore[arg-type]


def comp(cid: str, at: datetime, old: str, new: str, cause: str = "test") -> Transition:
    """A component transition."""
    return Transition("component", cid, at, old, new, cause, component=cid)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
