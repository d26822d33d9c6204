"""SIP probes: sip_options (is it alive), sip_register (can a line register), sip_call (does a call work).

Failure classes follow Telegraf inputs.sip: timeout, connection_refused, error_response (status_code in
values), auth_required, auth_failed, no_audio, one_way_audio, bad_response; plus tls_failed and dns_failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable
from datetime import datetime
from time import perf_counter
from typing import TypeVar

from agent.core.clock import Clock, SystemClock
from agent.core.model import KindMetrics, LabelledSpec, MetricSpec, ProbeResult, Target, Value
from agent.probes import ProbeContext
from agent.probes.calls import CallCounters, outcome
from agent.probes.sip_config import SipCallConfig, SipConfig, SipOptionsConfig, SipRegisterConfig
from agent.sip import call as call_flow
from agent.sip.dialog import Dialog
from agent.sip.digest import AuthError
from agent.sip.errors import CODEC_REJECTED, classify, codec_rejected, codec_values, error_response, response_values
from agent.sip.message import MAX_MESSAGE, SipMessage, SipParseError
from agent.sip.pool import SipTransportPool
from agent.sip.register import aor_of, register, registrar_uri
from agent.sip.resolve import Hop, resolve
from agent.sip.sdp import build_offer, parse_answer
from agent.sip.shared_options import OptionsTemplate
from agent.sip.shared_udp import OptionsPing, SharedUdpSocket
from agent.sip.transaction import TransactionTimeout
from agent.sip.transport import TransportError, tls_context
from agent.sip.ua import Identity, UserAgent
from agent.voice.media_stats import MediaStats
from agent.voice.session import RtpSession
from agent.voice.verdict import AudioVerdict, classify_audio

__all__ = [
    "CALL_METRICS",
    "OPTIONS_METRICS",
    "REGISTER_METRICS",
    "SipCallProbe",
    "SipOptionsProbe",
    "SipRegisterProbe",
]

T = TypeVar("T")
Failure = tuple[str, str] | None
Values = dict[str, Value]
Phases = dict[str, float]
_PROBE_ERRORS = (TimeoutError, TransactionTimeout, TransportError, AuthError, SipParseError)


class _SipProbe:
    """The common frame: resolve, connect, run the kind's dialogue under the deadline, classify failures."""

    kind = "sip"
    shared_udp = False
    """Use the UDP socket shared by every probe to the same next hop (no socket per probe run)."""

    def __init__(self, config: SipConfig, context: ProbeContext | None = None) -> None:
        self.config = config
        self._uri = config.target_uri  # parsed once: the probe runs many times
        self._to = config.to or str(self._uri.with_params())
        context = context if context is not None else ProbeContext()
        self._clock: Clock = context.clock or SystemClock()
        self._shared_pool = context.sip_pool

    @property
    def _pool(self) -> SipTransportPool:
        """The context's pool; a probe built without one shares sockets only among its own runs."""
        if self._shared_pool is None:
            self._shared_pool = SipTransportPool()
        return self._shared_pool

    async def probe(self, target: Target) -> ProbeResult:
        """Run one probe; a failing target is ok=False with a Telegraf-style error code."""
        return await self._probe(target, self._clock.now(), perf_counter(), {}, None)

    async def _probe(
        self, target: Target, started_at: datetime, t0: float, phases: Phases, hop: Hop | None
    ) -> ProbeResult:
        """The probe from `t0` on; `hop` when already resolved (the `resolve` phase is then in `phases`)."""
        values: Values = {}
        ua: UserAgent | None = None
        try:
            async with asyncio.timeout(target.timeout - (perf_counter() - t0)):
                ua = await self._connect(phases, hop)
                error = await self._dialogue(ua, t0 + target.timeout, phases, values)
        except _PROBE_ERRORS as exc:
            error = classify(exc, ua.transport if ua is not None else None)
            if isinstance(exc, AuthError):
                values.update(response_values(exc.response))
        finally:
            if ua is not None:
                ua.close()
        duration = perf_counter() - t0
        return ProbeResult.outcome(target, started_at, duration, error, phases, values)

    async def _connect(self, phases: Phases, hop: Hop | None = None) -> UserAgent:
        cfg = self.config
        if hop is None:
            hop = (await _timed(phases, "resolve", resolve(self._uri, cfg.transport)))[0]
        if cfg.server_name:
            hop = type(hop)(hop.proto, hop.ip, hop.port, cfg.server_name)
        ctx = tls_context(str(cfg.ca_file) if cfg.ca_file else None, cfg.verify) if hop.proto == "tls" else None
        password = cfg.password.get_secret_value() if cfg.password else ""
        identity = Identity(self._from_uri(), cfg.username, password)
        pool = self._pool if self.shared_udp else None
        connect = UserAgent.connect(hop, identity, bind_host=cfg.bind, ssl_context=ctx, pool=pool)
        return await _timed(phases, "connect", connect)

    def _from_uri(self) -> str:
        return self.config.from_uri

    def _to_uri(self) -> str:
        return self._to

    async def _dialogue(self, ua: UserAgent, deadline: float, phases: Phases, values: Values) -> Failure:
        raise NotImplementedError


async def _timed(phases: Phases, name: str, step: Awaitable[T]) -> T:
    t0 = perf_counter()
    try:
        return await step
    finally:
        phases[name] = perf_counter() - t0


def _unexpected(resp: SipMessage) -> tuple[str, str]:
    if resp.status in (401, 407):
        return "auth_required", f"{resp.status} {resp.reason}: the server wants credentials; none are configured"
    return error_response(resp)


class SipOptionsProbe(_SipProbe):
    """OPTIONS ping: ok when the final status is one of expected_codes."""

    kind = "sip_options"
    config: SipOptionsConfig
    shared_udp = True
    _options: OptionsTemplate | None = None
    _hop: Hop | None = None
    """The next hop of an IP-literal uri: it never changes, so it is resolved once."""
    _sock: SharedUdpSocket | None = None

    @property
    def _template(self) -> OptionsTemplate:
        if self._options is None:
            self._options = OptionsTemplate(self.config.uri, self._to_uri(), self._from_uri())
        return self._options

    async def probe(self, target: Target) -> ProbeResult:
        """Over UDP without credentials, the OPTIONS runs on callbacks (shared_udp.OptionsPing): no user agent,
        transport view or task of its own. Credentials (digest answers), TCP and TLS take the user agent's way."""
        started_at = self._clock.now()
        t0 = perf_counter()
        phases: Phases = {}
        values: Values = {}
        cfg = self.config
        if cfg.username:
            return await self._probe(target, started_at, t0, phases, None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + target.timeout
        error: Failure = None
        ping: OptionsPing | None = None
        try:
            hop = self._hop
            if hop is None:
                async with asyncio.timeout_at(deadline):
                    hop = (await resolve(self._uri, cfg.transport))[0]
                if self._uri.is_ip:
                    self._hop = hop
            t1 = perf_counter()
            phases["resolve"] = t1 - t0
            if hop.proto != "udp":
                return await self._probe(target, started_at, t0, phases, hop)
            sock = self._sock  # the socket of the last run, while it is open, to the same hop, on this loop
            if sock is None or sock.closed or sock.remote != (hop.ip, hop.port) or sock.loop is not loop:
                remote = (hop.ip, hop.port)
                sock = self._pool.ready_socket(remote, cfg.bind)
                if sock is None:
                    async with asyncio.timeout_at(deadline):
                        sock = await self._pool.open_socket(remote, bind_host=cfg.bind, max_size=MAX_MESSAGE)
                self._sock = sock
            t2 = perf_counter()
            phases["connect"] = t2 - t1
            branch, data = self._template.encode(sock.local[0], sock.local[1])
            ping = OptionsPing(sock, branch, data, deadline)
            ping.start()
            try:
                final = await ping.waiter
            finally:
                phases["options"] = perf_counter() - t2
            values.update(response_values(final))
            if final.status not in cfg.expected_codes:
                error = _unexpected(final)
        except _PROBE_ERRORS as exc:
            error = classify(exc, None, ping.parse_errors if ping is not None else None)
        finally:
            if ping is not None:
                ping.close()
        return ProbeResult.outcome(target, started_at, perf_counter() - t0, error, phases, values)

    async def _dialogue(self, ua: UserAgent, deadline: float, phases: Phases, values: Values) -> Failure:
        req = self._template.request(ua)
        final = await _timed(phases, "options", ua.request(req))
        values.update(response_values(final))
        return None if final.status in self.config.expected_codes else _unexpected(final)


class SipRegisterProbe(_SipProbe):
    """REGISTER (answering digest challenges), then un-REGISTER with Expires: 0."""

    kind = "sip_register"
    config: SipRegisterConfig

    def _from_uri(self) -> str:
        return self.config.to or aor_of(self.config.target_uri, self.config.username)

    async def _dialogue(self, ua: UserAgent, deadline: float, phases: Phases, values: Values) -> Failure:
        uri, aor, call_id = registrar_uri(self.config.target_uri), self._from_uri(), f"{secrets.token_hex(12)}@dialtone"
        final = await _timed(phases, "register", register(ua, uri, aor, self.config.expires, call_id, 1))
        values.update(response_values(final))
        if not 200 <= final.status < 300:
            return _unexpected(final)
        gone = await _timed(phases, "unregister", register(ua, uri, aor, 0, call_id, final.cseq[0] + 1))
        if not 200 <= gone.status < 300:
            code, message = _unexpected(gone)
            return code, f"registered, but the un-REGISTER failed (a binding is left): {message}"
        return None


class SipCallProbe(_SipProbe):
    """A test call: INVITE with an SDP offer, ACK, RTP both ways for `duration`, BYE; measures quality."""

    kind = "sip_call"
    config: SipCallConfig

    def __init__(self, config: SipCallConfig, context: ProbeContext | None = None) -> None:
        super().__init__(config, context)
        counters = context.call_counters if context is not None else None
        self.counters: CallCounters = counters if counters is not None else CallCounters()

    async def probe(self, target: Target) -> ProbeResult:
        """Place one test call and count it in the per-route ASR/NER counters (route label, else target id)."""
        result = await super().probe(target)
        status = result.values.get("status_code")
        self.counters.record(
            target.labels.get("route") or target.id, outcome(int(status) if isinstance(status, int | float) else None)
        )
        return result

    async def _dialogue(self, ua: UserAgent, deadline: float, phases: Phases, values: Values) -> Failure:
        cfg = self.config
        local_ip = ua.transport.local[0]
        async with RtpSession(local_ip, codec=cfg.codecs[0], bpl=cfg.bpl) as rtp:
            sdp = build_offer(local_ip, rtp.local_port, cfg.codecs)
            # Keep room after the answer for the media and the BYE; CANCEL when it rings longer than that.
            reserve = min(1.0, 0.2 * (deadline - perf_counter()))
            answer_within = max(0.1, deadline - perf_counter() - cfg.duration - reserve)
            if cfg.answer_timeout is not None:
                answer_within = min(answer_within, cfg.answer_timeout)
            try:
                outcome = await _timed(
                    phases, "invite", call_flow.invite(ua, cfg.uri, self._to_uri(), sdp, answer_within)
                )
            except call_flow.NoAnswer as exc:
                values.update(response_values(exc.final))
                if exc.post_dial_delay is not None:
                    values["post_dial_delay_seconds"] = round(exc.post_dial_delay, 6)
                return "timeout", str(exc)
            values.update(response_values(outcome.final))
            if outcome.post_dial_delay is not None:
                values["post_dial_delay_seconds"] = round(outcome.post_dial_delay, 6)
            if outcome.dialog is None:
                if outcome.final.status in CODEC_REJECTED:
                    return codec_rejected(outcome.final, cfg.codecs)
                return _unexpected(outcome.final)
            values["answer_seconds"] = round(outcome.answer_seconds or 0.0, 6)
            return await self._media(ua, outcome.dialog, rtp, deadline - reserve, phases, values)

    async def _media(
        self, ua: UserAgent, dialog: Dialog, rtp: RtpSession, until: float, phases: Phases, values: Values
    ) -> Failure:
        cfg = self.config
        hung_up = False
        try:
            answer = parse_answer(dialog.answer.body if dialog.answer is not None else b"")
            if answer.codec not in cfg.codecs:
                return "bad_response", f"the far end answered {answer.codec}, not offered ({', '.join(cfg.codecs)})"
            rtp.use_codec(answer.codec, answer.payload_type)
            values.update(codec_values(answer.codec))
            rtp.set_remote(answer.ip, answer.port)
            rtp.start_sending()
            t0 = perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(dialog.ended.wait(), max(0.0, min(cfg.duration, until - perf_counter())))
            phases["media"] = perf_counter() - t0
            rtp.stop_sending()
            stats = rtp.stats()
            values.update(stats.values())
            hung_up = dialog.ended_by_remote
            if not hung_up:
                await _timed(phases, "bye", call_flow.bye(ua, dialog))
        finally:
            if not dialog.ended.is_set() and dialog.transport is not None:
                # Cancelled or failed before the BYE: send one anyway so no call is left up at the far end.
                dialog.ended.set()
                dialog.transport.send(ua.send_in_dialog(dialog, "BYE"))
        if hung_up:
            return "call_dropped", f"the far end hung up after {phases['media']:.2f}s of media"
        return self._judge(stats)

    def _judge(self, stats: MediaStats) -> Failure:
        far_end = (stats.packets_received if stats.rtt_seconds is not None else 0) if self.config.expect_echo else None
        verdict = classify_audio(stats.packets_sent, stats.packets_received, far_end)
        if verdict is AudioVerdict.NO_AUDIO:
            return "no_audio", f"sent {stats.packets_sent} RTP packets, received {stats.packets_received}"
        if verdict is AudioVerdict.ONE_WAY_AUDIO:
            return "one_way_audio", f"received {stats.packets_received} RTP packets but none of ours came back"
        return None


CODEC_METRIC = LabelledSpec("codec_", "probe_sip_codec", "codec", "1 for the codec the SDP answer chose")
_RECEIVED = {"direction": "b_to_a"}
_STATUS = MetricSpec("status_code", "probe_sip_status_code", "Final SIP status code of the last transaction")
_PHASES = "Duration of each SIP probe phase (resolve, connect, options, register, invite, media, bye)"

OPTIONS_METRICS = KindMetrics("probe_sip_phase_duration_seconds", _PHASES, (_STATUS,))
REGISTER_METRICS = OPTIONS_METRICS
CALL_METRICS = KindMetrics(
    "probe_sip_phase_duration_seconds",
    _PHASES,
    (
        _STATUS,
        MetricSpec("post_dial_delay_seconds", "probe_sip_post_dial_delay_seconds", "INVITE to first 180/183"),
        MetricSpec("answer_seconds", "probe_sip_answer_seconds", "INVITE to 200 OK"),
        MetricSpec("rtp_packets_sent", "probe_rtp_packets_sent", "RTP packets sent during the test call"),
        MetricSpec("rtp_packets_received", "probe_rtp_packets_received", "RTP packets received during the call"),
        # What the agent (A) receives of the far end (B): the same direction label as pstn_call's b_to_a.
        MetricSpec(
            "packet_loss_ratio", "probe_rtp_packet_loss_ratio", "RTP packets lost / expected (RFC 3550)", _RECEIVED
        ),
        MetricSpec("jitter_seconds", "probe_rtp_jitter_seconds", "RFC 3550 interarrival jitter", _RECEIVED),
        MetricSpec("round_trip_seconds", "probe_rtp_round_trip_seconds", "Media round trip from the echo"),
        MetricSpec("mos", "probe_voice_mos", "E-model (ITU-T G.107) MOS estimate", _RECEIVED),
    ),
    (CODEC_METRIC,),
)


async def setup(context: ProbeContext) -> None:
    """What SIP probes share: the transport pool (OPTIONS pings to one hop share a socket), call counters."""
    if context.sip_pool is None:
        pool = context.sip_pool = SipTransportPool()
        context.on_close(pool.close)
    if context.call_counters is None:
        context.call_counters = CallCounters()
