"""The answered part of a PSTN test call: media both ways, the DTMF token exchange, the hang-up, the verdict.

After the answer both sides send G.711 (silence), wait `settle` seconds (media cut-through can clip the
first audio after answer), then each sends its random token in-band and as RFC 4733 events while listening
for the other's. Media flows until `duration` after the answer; the call never outlasts `max_duration`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, Protocol

from agent.probes.calls import q850_cause
from agent.probes.pstn.call import OutgoingCall
from agent.probes.pstn.media import Failure, direction_values, judge_external, judge_loop
from agent.probes.pstn.plan import CallPlan, Value
from agent.sip.errors import codec_values
from agent.sip.message import SipParseError
from agent.sip.sdp import parse_answer
from agent.sip.uas import IncomingCall, Uas
from agent.voice.media_stats import MediaStats
from agent.voice.session import RtpSession

BYE_RESERVE = 0.5
"""Seconds kept before max_duration for the BYE to get through."""
DRAIN = 0.1
"""Seconds to let packets in flight arrive after both sides stopped sending."""


class AnsweredCall(Protocol):
    """What the media session needs of the call it runs in (loop.LoopCall), and fills in."""

    plan: CallPlan
    out: OutgoingCall | None
    uas: Uas | None
    a_rtp: RtpSession | None
    b_rtp: RtpSession | None
    tokens: tuple[str, str]
    phases: dict[str, float]
    values: dict[str, Value]


class CallMedia:
    """Media, tokens and hang-up of one answered call (`run()` returns the call's failure or None)."""

    def __init__(self, call: AnsweredCall, deadline: float) -> None:
        assert call.out is not None and call.out.dialog is not None and call.out.answered_at is not None
        assert call.a_rtp is not None
        self.call = call
        self.out = call.out
        self.dialog = call.out.dialog
        self.a_rtp: RtpSession = call.a_rtp
        self.loop = asyncio.get_running_loop()
        plan = call.plan
        answered = call.out.answered_at
        self.until = min(answered + plan.duration, answered + plan.max_duration - BYE_RESERVE, deadline)
        self.b_call: IncomingCall | None = call.uas.call if call.uas is not None else None

    async def run(self) -> Failure:
        """Media until the end of `duration` (or a BYE from the far end), then hang up and judge."""
        call, plan, values = self.call, self.call.plan, self.call.values
        body = self.dialog.answer.body if self.dialog.answer is not None else b""
        try:
            answer = parse_answer(body)
        except SipParseError as exc:
            return "bad_response", f"SDP answer: {exc}"
        if answer.codec not in plan.codecs:
            return "bad_response", f"the far end answered {answer.codec}, not offered ({', '.join(plan.codecs)})"
        self.a_rtp.use_codec(answer.codec, answer.payload_type)
        values.update(codec_values(answer.codec))
        try:
            self.a_rtp.set_remote(answer.ip, answer.port)
        except ValueError as exc:
            return "bad_response", f"SDP answer: {exc}"
        self.a_rtp.start_sending()
        t0 = self.loop.time()
        a_heard, b_heard = await self._exchange()
        await self._wait(self.dialog.ended.wait(), self.until)
        call.phases["media"] = self.loop.time() - t0
        dropped = self.dialog.ended_by_remote
        a, b = await self._snapshot()
        self._values(a, b)
        if dropped:
            values["hangup_by"] = "remote"
            self._cause(self.out.bye)
            return "call_dropped", f"the far end hung up after {call.phases['media']:.2f}s of media"
        await self._hangup()
        values["answer_leg_invited"] = self.b_call is not None
        return self._judge(a, b, a_heard, b_heard)

    async def _exchange(self) -> tuple[str, str]:
        """Send both tokens and wait until each side heard the other's (or until the media ends)."""
        plan, b_rtp = self.call.plan, self.call.b_rtp
        token_a, token_b = self.call.tokens
        await self._wait(self.dialog.ended.wait(), min(self.until, self.loop.time() + plan.settle))
        steps: list[Coroutine[Any, Any, Any]] = [self.a_rtp.send_dtmf(token_a)]
        if plan.expect == "loop":
            if self.b_call is not None and b_rtp is not None:
                steps += [b_rtp.send_dtmf(token_b), b_rtp.wait_for_digits(token_a), self.a_rtp.wait_for_digits(token_b)]
            else:
                steps.append(self.a_rtp.wait_for_digits(token_b))  # never comes: the call is not ours
        elif plan.expect == "echo":
            steps.append(self.a_rtp.wait_for_digits(token_a))
        else:
            steps.append(self.a_rtp.wait_for_media())
        await self._wait(asyncio.gather(*steps), self.until)
        return self.a_rtp.received_digits, b_rtp.received_digits if b_rtp is not None else ""

    async def _wait(self, aw: Any, until: float) -> None:
        """Await `aw` until loop time `until`, or until the far end hangs up; whatever is left is cancelled."""
        task = asyncio.ensure_future(aw)
        ended = asyncio.ensure_future(self.dialog.ended.wait())
        try:
            await asyncio.wait({task, ended}, timeout=max(0.0, until - self.loop.time()), return_when="FIRST_COMPLETED")
        finally:
            for t in (task, ended):
                if not t.done():
                    t.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    async def _snapshot(self) -> tuple[MediaStats, MediaStats | None]:
        b_rtp = self.call.b_rtp
        self.a_rtp.stop_sending()
        if b_rtp is not None:
            b_rtp.stop_sending()
        await asyncio.sleep(DRAIN)
        return self.a_rtp.stats(), (b_rtp.stats() if b_rtp is not None and self.b_call is not None else None)

    def _values(self, a: MediaStats, b: MediaStats | None) -> None:
        values = self.call.values
        b_answered = self.b_call.answered_at if self.b_call is not None else None
        if b is not None:
            values.update(direction_values("a_to_b", a, b, b_answered))
        values.update(direction_values("b_to_a", b, a, self.out.answered_at))
        if b is None:
            values["rtp_packets_sent_a_to_b"] = a.packets_sent
        if a.rtt_seconds is not None:
            values["round_trip_seconds"] = round(a.rtt_seconds, 6)
        values["dtmf_token_length"] = len(self.call.tokens[0])
        if a.tone_frames is not None:
            values["tone_seconds_b_to_a"] = round(a.tone_frames * 0.02, 3)

    async def _hangup(self) -> None:
        call, values = self.call, self.call.values
        t0 = self.loop.time()
        if call.plan.hangup_by == "callee" and call.uas is not None and self.b_call is not None:
            values["hangup_by"] = "callee"
            with contextlib.suppress(Exception):
                async with asyncio.timeout(max(0.1, self.until + BYE_RESERVE - self.loop.time())):
                    await call.uas.hangup(self.b_call)
                    await self.dialog.ended.wait()  # the BYE went through both proxies back to us
            self._cause(self.out.bye)
        else:
            values["hangup_by"] = "caller"
            with contextlib.suppress(Exception):
                async with asyncio.timeout(max(0.1, self.until + BYE_RESERVE - self.loop.time())):
                    await self.out.hangup()
            if self.b_call is not None:
                self._cause(self.b_call.bye)
        call.phases["bye"] = self.loop.time() - t0

    def _cause(self, bye: Any) -> None:
        cause = q850_cause(bye)
        if cause is not None:
            self.call.values["q850_cause"] = cause

    def _judge(self, a: MediaStats, b: MediaStats | None, a_heard: str, b_heard: str) -> Failure:
        token_a, token_b = self.call.tokens
        if self.call.plan.expect != "loop":
            return judge_external(self.call.plan.expect, a, a_heard, token_a, self.call.plan.tone_hz)
        if b is None:
            return "wrong_destination", (
                f"the call was answered, but never reached the answering extension (A heard {a_heard or 'nothing'})"
            )
        return judge_loop(a, b, a_heard, b_heard, token_a, token_b)
