"""pstn_call: a test call through a carrier trunk to a DID, answered by the agent itself, audio checked both ways.

The originating leg calls an E.164 number through a trunk (its own credentials, From / P-Asserted-Identity
number, route label). The optional answering leg registers the extension the DID routes to and answers
the call there. Each side sends a random DTMF token (in-band and RFC 4733) the other must hear: that ties
the call answered to the call placed and proves audio both ways. Without an answering leg an external
answer point takes the call, with `expect` echo, tone or any.

Calls cost money: one call at a time per route label (across targets), never longer than `max_duration`,
and every call left is torn down with CANCEL or BYE, also on the deadline and on `aclose()` (shutdown).
"""

from __future__ import annotations

import asyncio
from time import perf_counter

from agent.core.clock import Clock, SystemClock
from agent.core.model import KindMetrics, LabelledSpec, MetricSpec, ProbeResult, Target
from agent.probes import ProbeContext
from agent.probes.calls import CallCounters, register_call_metrics
from agent.probes.pstn.config import PstnAnswerConfig, PstnCallConfig
from agent.probes.pstn.loop import LoopCall
from agent.probes.pstn.media import Failure
from agent.probes.pstn.plan import AnswerLeg, CallPlan, Leg
from agent.sip.digest import AuthError
from agent.sip.errors import classify
from agent.sip.message import SipParseError
from agent.sip.register import registrar_uri
from agent.sip.transaction import TransactionTimeout
from agent.sip.transport import TransportError, tls_context
from agent.sip.ua import Identity
from agent.sip.uri import SipUri

__all__ = ["METRICS", "PstnCallProbe", "register_call_metrics"]

_PROBE_ERRORS = (TransactionTimeout, TransportError, AuthError, SipParseError)

TEARDOWN_MAX = 3.0
"""The most seconds of a target's timeout kept back for CANCEL/BYE and the un-REGISTER."""


def build_plan(cfg: PstnCallConfig) -> CallPlan:
    """The call plan of a config: URIs, identities and headers built once per probe."""
    trunk = SipUri.parse(cfg.trunk)
    host = f"{trunk.host}:{trunk.port}" if trunk.port else trunk.host
    from_uri = f"sip:{cfg.from_number}@{cfg.from_domain or trunk.host}"
    headers = (("p-asserted-identity", f"<{from_uri}>"),) if cfg.assert_identity else ()
    ctx = tls_context(str(cfg.ca_file) if cfg.ca_file else None, cfg.verify) if _is_tls(trunk, cfg.transport) else None
    password = cfg.password.get_secret_value() if cfg.password else ""
    leg = Leg(trunk, Identity(from_uri, cfg.username, password), cfg.transport, cfg.bind, ctx)
    return CallPlan(
        trunk=leg, request_uri=f"sip:{cfg.number}@{host}", to=f"sip:{cfg.number}@{trunk.host}", headers=headers,
        codecs=cfg.codecs, bpl=cfg.bpl, duration=cfg.duration, max_duration=cfg.max_duration,
        answer_timeout=cfg.answer_timeout, settle=cfg.settle, token_length=cfg.token_length,
        expect="loop" if cfg.answer is not None else cfg.expect, tone_hz=cfg.tone_hz, hangup_by=cfg.hangup_by,
        answer=_answer_leg(cfg.answer) if cfg.answer is not None else None,
    )  # fmt: skip


def _answer_leg(cfg: PstnAnswerConfig) -> AnswerLeg:
    uri = SipUri.parse(cfg.registrar)
    aor = f"sip:{cfg.extension}@{cfg.domain or uri.host}"
    password = cfg.password.get_secret_value() if cfg.password else ""
    identity = Identity(aor, cfg.username or cfg.extension, password)
    ctx = tls_context(str(cfg.ca_file) if cfg.ca_file else None, cfg.verify) if _is_tls(uri, cfg.transport) else None
    leg = Leg(uri, identity, cfg.transport, cfg.bind, ctx)
    return AnswerLeg(leg, registrar_uri(uri), aor, cfg.expires, cfg.extension, cfg.correlate)


def _is_tls(uri: SipUri, transport: str | None) -> bool:
    return transport == "tls" or (transport is None and (uri.scheme == "sips" or uri.param("transport") == "tls"))


class PstnCallProbe:
    """One PSTN test call per run; `aclose()` ends every call still up (call it on agent shutdown)."""

    kind = "pstn_call"

    def __init__(self, config: PstnCallConfig, context: ProbeContext | None = None) -> None:
        self.config = config
        self._plan = build_plan(config)
        context = context if context is not None else ProbeContext()
        self._clock: Clock = context.clock or SystemClock()
        self.counters: CallCounters = context.call_counters if context.call_counters is not None else CallCounters()
        self._routes = context.route_locks
        """Route -> its lock, shared by every pstn_call probe of the context: one call at a time per route."""
        self._live: set[asyncio.Task[Failure]] = set()
        self._closing = False

    async def probe(self, target: Target) -> ProbeResult:
        """Place one test call; a failing call is ok=False with an error code, never an exception."""
        started_at, t0 = self._clock.now(), perf_counter()
        if self._closing:
            return ProbeResult.failure(target, started_at, 0.0, "shutdown", "the agent is shutting down")
        call = LoopCall(self._plan)
        inner = asyncio.ensure_future(self._attempt(call, target.timeout))
        self._live.add(inner)
        inner.add_done_callback(self._live.discard)
        try:
            await asyncio.wait({inner})
        except asyncio.CancelledError:
            inner.cancel()  # its finally still CANCELs or BYEs the call; aclose() waits for that
            raise
        if inner.cancelled():
            error: Failure = ("shutdown", "the call was ended because the agent is shutting down")
        else:
            error = inner.result()
        values = {**call.values, "route": self.config.route}
        phases = {k: round(v, 6) for k, v in call.phases.items()}
        duration = perf_counter() - t0
        return ProbeResult.outcome(target, started_at, duration, error, phases, values)

    async def _attempt(self, call: LoopCall, budget: float) -> Failure:
        loop = asyncio.get_running_loop()
        reserve = min(TEARDOWN_MAX, max(0.5, 0.2 * budget))
        deadline = loop.time() + budget - reserve
        lock = self._routes.get(self.config.route)
        if lock is None:
            lock = self._routes[self.config.route] = asyncio.Lock()
        acquired = False
        error: Failure = None
        try:
            async with asyncio.timeout_at(deadline):
                waited = loop.time()
                await lock.acquire()
                acquired = True
                call.phases["route_wait"] = loop.time() - waited
                if deadline - loop.time() < MIN_CALL_SHARE * (deadline - waited):
                    # Dialling now would bill a call that is torn down before it can be judged.
                    return "route_busy", (
                        f"route {self.config.route} was busy for {loop.time() - waited:.1f}s; "
                        "too little of the deadline was left to place the call"
                    )
                error = await call.run(deadline)
        except TimeoutError:
            if acquired:
                error = "timeout", "the call did not finish before the deadline; it was torn down"
            else:
                error = "route_busy", f"another call on route {self.config.route} kept it busy until the deadline"
        except _PROBE_ERRORS as exc:
            error = classify(exc, call.a_ua.transport if call.a_ua is not None else None)
        except OSError as exc:
            error = "connection_failed", str(exc)
        finally:
            try:
                await call.teardown(reserve)
            finally:
                if acquired:
                    lock.release()
                result = call.result
                if result is not None:
                    self.counters.record(self.config.route, result)
        return error

    async def aclose(self, wait: float = TEARDOWN_MAX + 1.0) -> None:
        """Stop placing calls and end the ones up now (CANCEL or BYE, un-REGISTER) within `wait` s."""
        self._closing = True
        live = list(self._live)
        for task in live:
            task.cancel()
        if live:
            await asyncio.wait(live, timeout=wait)


MIN_CALL_SHARE = 0.5
"""A call waiting for its route is placed only while at least this share of its budget is left."""


_DIR = "direction"
METRICS = KindMetrics(
    "probe_sip_phase_duration_seconds",
    "Duration of each PSTN call phase (register, connect, invite, media, bye, teardown, route_wait)",
    (
        MetricSpec("status_code", "probe_sip_status_code", "Final SIP status of the INVITE"),
        MetricSpec("post_dial_delay_seconds", "probe_sip_post_dial_delay_seconds", "INVITE to first 180/183"),
        MetricSpec("answer_seconds", "probe_sip_answer_seconds", "INVITE to 200 OK"),
        MetricSpec("q850_cause", "probe_pstn_q850_cause", "Q.850 cause of the hang-up or failure (Reason header)"),
        MetricSpec("round_trip_seconds", "probe_rtp_round_trip_seconds", "Media round trip from an echo"),
    ),
    (
        LabelledSpec("codec_", "probe_sip_codec", "codec", "1 for the codec the trunk's SDP answer chose"),
        LabelledSpec("rtp_packets_sent_", "probe_rtp_packets_sent", _DIR, "RTP packets sent, per direction"),
        LabelledSpec("rtp_packets_received_", "probe_rtp_packets_received", _DIR, "RTP packets received"),
        LabelledSpec("rtp_packets_lost_", "probe_rtp_packets_lost", _DIR, "RTP packets lost (RFC 3550)"),
        LabelledSpec("packet_loss_ratio_", "probe_rtp_packet_loss_ratio", _DIR, "RTP lost / expected"),
        LabelledSpec("jitter_seconds_", "probe_rtp_jitter_seconds", _DIR, "RFC 3550 interarrival jitter"),
        LabelledSpec("mos_", "probe_voice_mos", _DIR, "E-model (ITU-T G.107) MOS estimate per direction"),
        LabelledSpec("first_audio_seconds_", "probe_pstn_first_audio_seconds", _DIR, "Answer to first RTP"),
        LabelledSpec("tone_seconds_", "probe_pstn_tone_seconds", _DIR, "Test tone heard (expect: tone)"),
    ),
)


async def setup(context: ProbeContext) -> None:
    """What PSTN probes share: the call counters the owner exports (ASR, NER). Route locks are the context's."""
    if context.call_counters is None:
        context.call_counters = CallCounters()
