"""Test calls of any kind: outcome classes, Q.850 causes from Reason headers, per-route counters (ASR, NER).

Shared by the two kinds that place calls, `sip_call` and `pstn_call`, so neither imports the other.
`dialtone_call_attempts_total{route,result}` and `dialtone_call_answered_total{route}` are counters: a probe
result cannot carry them (its values are gauges of the last run), so call probes feed the owner's
`CallCounters` (`ProbeContext.call_counters`) and the owner exposes them with
`register_call_metrics(registry, counters)`. ASR per route is
answered / attempts; NER is (answered + busy + no_answer + rejected) / attempts, the user-caused outcomes
that still show a working network (ITU-T E.425).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from agent.sip.message import SipMessage

RESULTS = ("answered", "busy", "no_answer", "rejected", "not_found", "unavailable", "failed", "error")
"""The bounded `result` label values of dialtone_call_attempts_total."""

_BY_STATUS = {
    486: "busy", 600: "busy",
    408: "no_answer", 480: "no_answer", 487: "no_answer",
    403: "rejected", 603: "rejected",
    404: "not_found", 484: "not_found", 604: "not_found",
    500: "unavailable", 502: "unavailable", 503: "unavailable", 504: "unavailable",
}  # fmt: skip
"""Final status to outcome class, following RFC 3398's Q.850 mapping (486 = cause 17 user busy...)."""

_Q850 = re.compile(r"^\s*Q\.850\s*;(.*)$", re.IGNORECASE)
_CAUSE = re.compile(r"(?:^|;)\s*cause\s*=\s*(\d{1,3})", re.IGNORECASE)


def outcome(status: int | None) -> str:
    """The call's outcome class from its INVITE's final status (None: no final response at all)."""
    if status is None:
        return "error"
    if 200 <= status < 300:
        return "answered"
    return _BY_STATUS.get(status, "failed")


def q850_cause(message: SipMessage | None) -> int | None:
    """The Q.850 cause of a Reason header (RFC 3326) on a BYE, CANCEL or final response, if present."""
    if message is None:
        return None
    for value in message.get_all("reason"):
        m = _Q850.match(value)
        if m:
            cause = _CAUSE.search(m.group(1))
            if cause and 0 < int(cause.group(1)) < 128:
                return int(cause.group(1))
    return None


class CallCounters:
    """Attempts by route and outcome, and answered calls by route; thread-safe, read at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempts: dict[tuple[str, str], int] = {}
        self.answered: dict[str, int] = {}

    def record(self, route: str, result: str) -> None:
        """Count one attempt on `route` with outcome `result` (one of RESULTS)."""
        if result not in RESULTS:
            raise ValueError(f"unknown call result {result!r}")
        with self._lock:
            self.attempts[(route, result)] = self.attempts.get((route, result), 0) + 1
            if result == "answered":
                self.answered[route] = self.answered.get(route, 0) + 1
            else:
                self.answered.setdefault(route, 0)

    def snapshot(self) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
        """Copies of both tables."""
        with self._lock:
            return dict(self.attempts), dict(self.answered)


class CallCollector(Collector):
    """Builds the two counter families from a CallCounters at scrape time."""

    def __init__(self, counters: CallCounters) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        """Yield dialtone_call_attempts_total and dialtone_call_answered_total."""
        attempts, answered = self.counters.snapshot()
        family = CounterMetricFamily(
            "dialtone_call_attempts", "PSTN test calls placed, by route and outcome.", labels=["route", "result"]
        )
        for (route, result), count in sorted(attempts.items()):
            family.add_metric([route, result], count)
        yield family
        done = CounterMetricFamily("dialtone_call_answered", "PSTN test calls answered, by route.", labels=["route"])
        for route, count in sorted(answered.items()):
            done.add_metric([route], count)
        yield done


def register_call_metrics(registry: CollectorRegistry, counters: CallCounters) -> CallCollector:
    """Expose an owner's call counters (ProbeContext.call_counters) on its registry, never the global one."""
    collector = CallCollector(counters)
    registry.register(collector)
    return collector
