"""HTTP probe: one request on a fresh connection, with blackbox_exporter's phases, checks and metric names."""

from __future__ import annotations

import asyncio
import re
from time import perf_counter
from typing import TYPE_CHECKING

from agent.core.clock import Clock, SystemClock
from agent.core.model import KindMetrics, MetricSpec, ProbeResult, Target, Value
from agent.net.httpwire import Response, fetch
from agent.net.netconn import ProbeFailure, Trace
from agent.net.tlsinfo import SSL_EXPIRY
from agent.probes.http.config import HttpConfig

if TYPE_CHECKING:
    from agent.probes import ProbeContext


class HttpProbe:
    """Probe an HTTP(S) URL: phases resolve, connect, tls, processing, transfer; status and body checks."""

    kind = "http"

    def __init__(self, config: HttpConfig, context: ProbeContext | None = None) -> None:
        self.config = config
        self._plan = config.plan()
        self._codes = config.status_codes()
        self._codes_text = ", ".join(str(c) for c in config.valid_status_codes or ["2xx"])
        self._must_not = [re.compile(p) for p in config.fail_if_body_matches_regexp]
        self._must = [re.compile(p) for p in config.fail_if_body_not_matches_regexp]
        clock = context.clock if context is not None else None
        self._clock: Clock = clock if clock is not None else SystemClock()

    async def probe(self, target: Target) -> ProbeResult:
        """One request (plus redirects) under target.timeout; a failing target becomes ok=False."""
        started_at = self._clock.now()
        t0 = perf_counter()
        trace = Trace()
        try:
            async with asyncio.timeout(target.timeout):
                resp = await fetch(self._plan, trace)
        except TimeoutError:
            failure = trace.timeout_failure(target.timeout)
        except ProbeFailure as exc:
            failure = exc
        else:
            values = _values(resp)
            problem = self._check(resp)
            if problem is None:
                return ProbeResult(
                    target=target.id, kind=self.kind, started_at=started_at, duration=perf_counter() - t0,
                    ok=True, phases=trace.phases, values=values,
                )  # fmt: skip
            duration = perf_counter() - t0
            return ProbeResult.failure(target, started_at, duration, *problem, trace.phases, values)
        trace.step("done")  # keep the time spent in the phase that failed
        return ProbeResult.failure(target, started_at, perf_counter() - t0, failure.code, failure.message, trace.phases)

    def _check(self, resp: Response) -> tuple[str, str] | None:
        if resp.status not in self._codes:
            return "http_status", f"status {resp.status} is not one of {self._codes_text}"
        if self._must or self._must_not:
            text = (resp.body or b"").decode("utf-8", "replace")
            for rx in self._must_not:
                if rx.search(text):
                    return "body_mismatch", f"body matches fail_if_body_matches_regexp {rx.pattern!r}"
            for rx in self._must:
                if not rx.search(text):
                    return "body_mismatch", f"body does not match {rx.pattern!r}"
        return None


def _values(resp: Response) -> dict[str, Value]:
    values: dict[str, Value] = {
        "status_code": resp.status,
        "content_length": resp.body_len,
        "http_version": resp.version,
        "redirects": resp.redirects,
        "ssl": resp.tls,
    }
    if resp.cert_expiry is not None:
        values["ssl_earliest_cert_expiry"] = resp.cert_expiry
    if resp.truncated:
        values["body_truncated"] = True
    return values


METRICS = KindMetrics(
    phase_metric="probe_http_duration_seconds",
    phase_help="Duration of each HTTP request phase, summed over redirects.",
    values=(
        MetricSpec("status_code", "probe_http_status_code", "Response HTTP status code."),
        MetricSpec("content_length", "probe_http_content_length", "Body bytes read (after de-chunking)."),
        MetricSpec("redirects", "probe_http_redirects", "Number of redirects followed."),
        SSL_EXPIRY,
        MetricSpec("http_version", "probe_http_version", "HTTP version of the final response."),
    ),
)
