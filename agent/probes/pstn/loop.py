"""One PSTN test call, end to end: register the answering extension, call out through the trunk, answer
the call where it arrives, exchange DTMF tokens both ways, measure, hang up, and leave nothing behind.

`LoopCall.run()` returns a failure (error code, message) or None; `teardown()` must follow in every case,
also after a deadline or a cancellation: it CANCELs or BYEs the call, un-REGISTERs and closes every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from agent.probes.calls import outcome, q850_cause
from agent.probes.pstn.call import OutgoingCall
from agent.probes.pstn.media import Failure, new_tokens
from agent.probes.pstn.plan import AnswerLeg, CallPlan, Leg, Value
from agent.probes.pstn.screen import CALL_HEADER, Screen
from agent.probes.pstn.session import CallMedia
from agent.sip.digest import AuthError
from agent.sip.errors import CODEC_REJECTED, codec_rejected, error_response, response_values
from agent.sip.message import SipMessage
from agent.sip.register import register
from agent.sip.resolve import resolve
from agent.sip.sdp import build_offer, payload_type_of
from agent.sip.transport import TransportError
from agent.sip.ua import UserAgent
from agent.sip.uas import IncomingCall, Uas
from agent.sip.uri import SipUri
from agent.voice.session import RtpSession

T = TypeVar("T")


class LoopCall:
    """One run of a pstn_call probe; `phases` and `values` fill up as it goes."""

    def __init__(self, plan: CallPlan) -> None:
        self.plan = plan
        self.phases: dict[str, float] = {}
        self.values: dict[str, Value] = {}
        self.tokens = new_tokens(plan.token_length)
        self.a_ua: UserAgent | None = None
        self.b_ua: UserAgent | None = None
        self.a_rtp: RtpSession | None = None
        self.b_rtp: RtpSession | None = None
        self.uas: Uas | None = None
        self.out: OutgoingCall | None = None
        self._registration: tuple[str, int] | None = None
        self._loop = asyncio.get_running_loop()
        self.screen: Screen | None = None
        if plan.answer is not None:
            caller = SipUri.parse(plan.trunk.identity.from_uri).user or ""
            self.screen = Screen(plan.answer.extension, caller, plan.answer.correlate)

    @property
    def result(self) -> str | None:
        """The outcome class for the attempt counters; None when no INVITE was sent."""
        if self.out is None or self.out.sent_at is None:
            return None
        return outcome(self.out.final.status if self.out.final is not None else None)

    async def _timed(self, name: str, step: Awaitable[T]) -> T:
        t0 = self._loop.time()
        try:
            return await step
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + self._loop.time() - t0

    async def _connect(self, leg: Leg) -> UserAgent:
        hop = (await resolve(leg.uri, leg.transport))[0]
        return await UserAgent.connect(hop, leg.identity, bind_host=leg.bind, ssl_context=leg.ssl_context)

    async def run(self, deadline: float) -> Failure:
        """Place the call and judge it; `deadline` (loop time) leaves room for the teardown."""
        plan = self.plan
        if plan.answer is not None:
            failure = await self._timed("register", self._register(plan.answer))
            if failure is not None:
                return failure
        self.a_ua = await self._timed("connect", self._connect(plan.trunk))
        ip = self.a_ua.transport.local[0]
        self.a_rtp = RtpSession(
            ip, codec=plan.codecs[0], bpl=plan.bpl, tone_hz=plan.tone_hz if plan.expect == "tone" else None
        )
        await self.a_rtp.open()
        headers = plan.headers if self.screen is None else (*plan.headers, (CALL_HEADER, self.screen.token))
        request = OutgoingCall.build(
            self.a_ua, plan.request_uri, plan.to, build_offer(ip, self.a_rtp.local_port, plan.codecs), headers
        )
        self.out = OutgoingCall(self.a_ua, request)
        # Keep room after the answer for the media and the BYE; CANCEL when it rings longer than that.
        within = max(0.1, deadline - self._loop.time() - min(plan.duration, plan.max_duration) - 0.5)
        if plan.answer_timeout is not None:
            within = min(within, plan.answer_timeout)
        try:
            final = await self._timed("invite", self.out.place(within))
        except AuthError:
            self._signalling_values(self.out.final)  # status_code of the refusal; the error is auth_failed
            raise
        self._signalling_values(final)
        if final is None:
            return "timeout", f"no response to the INVITE within {within:g}s"
        if self.out.dialog is None:
            return self._unanswered(final, within)
        media = CallMedia(self, deadline)
        return await media.run()

    async def _register(self, answer: AnswerLeg) -> Failure:
        plan = self.plan
        try:
            self.b_ua = await self._connect(answer.leg)
            ip = self.b_ua.transport.local[0]
            self.b_rtp = RtpSession(ip, codec=plan.codecs[0], bpl=plan.bpl)
            port = await self.b_rtp.open()
            screen = self.screen.check if self.screen is not None else None
            self.uas = Uas(
                self.b_ua, lambda codec: build_offer(ip, port, codec), plan.codecs, self._b_answered, screen=screen
            )
            call_id = f"{self.tokens[1]}-{id(self):x}@dialtone"
            self._registration = (call_id, 1)  # set before sending: a lost 200 still gets its un-REGISTER
            final = await register(self.b_ua, answer.registrar, answer.aor, answer.expires, call_id, 1)
        except AuthError as exc:
            self.values.update({f"register_{k}": v for k, v in response_values(exc.response).items()})
            return "auth_failed", f"the answering extension's credentials were refused: {exc}"
        self.values["register_status_code"] = final.status
        self._registration = (call_id, final.cseq[0])
        if not 200 <= final.status < 300:
            self._registration = None
            return "register_failed", f"the answering extension could not register: {error_response(final)[1]}"
        return None

    def _b_answered(self, call: IncomingCall) -> None:
        if self.b_rtp is None:
            return
        with contextlib.suppress(ValueError):
            self.b_rtp.use_codec(call.codec, payload_type_of(call.offer, call.codec))
            self.b_rtp.set_remote(call.offer.ip, call.offer.port)
            self.b_rtp.start_sending()

    def _signalling_values(self, final: SipMessage | None) -> None:
        out = self.out
        assert out is not None
        if final is not None:
            self.values.update(response_values(final))  # status_code, and retry_after when given
            cause = q850_cause(final)
            if cause is not None:
                self.values["q850_cause"] = cause
        if out.post_dial_delay is not None:
            self.values["post_dial_delay_seconds"] = round(out.post_dial_delay, 6)
        if out.answer_seconds is not None:
            self.values["answer_seconds"] = round(out.answer_seconds, 6)
        self.values["result"] = self.result or "error"

    def _unanswered(self, final: SipMessage, within: float) -> tuple[str, str]:
        assert self.out is not None
        if self.out.cancelled:
            return "no_answer", f"no answer within {within:g}s; cancelled ({final.status} {final.reason})"
        if final.status in (401, 407):
            return "auth_required", f"{final.status} {final.reason}: the trunk wants credentials; none are configured"
        if final.status in CODEC_REJECTED:
            return codec_rejected(final, self.plan.codecs)
        cls = outcome(final.status)
        code = cls if cls in ("busy", "no_answer", "rejected", "not_found", "unavailable") else "error_response"
        return code, error_response(final)[1]

    async def teardown(self, budget: float) -> None:
        """End the call (CANCEL or BYE, both legs), un-REGISTER and close everything within `budget` s.

        Never raises: each step's failure (a refused BYE, a lost connection) is added to
        `values["teardown_error"]` ("step: error; ...") and the next step still runs: the un-REGISTER always does.
        """
        end = self._loop.time() + budget
        try:
            for rtp in (self.a_rtp, self.b_rtp):
                if rtp is not None:
                    rtp.stop_sending()
            if self.out is not None:
                await self._step("bye", end, self.out.teardown())
            call = self.uas.call if self.uas is not None else None
            if self.uas is not None and call is not None and not call.dialog.ended.is_set():
                await self._step("answer_bye", end, self.uas.hangup(call))
            if self._registration is not None and self.b_ua is not None and self.plan.answer is not None:
                call_id, cseq = self._registration
                answer = self.plan.answer
                unregister = register(self.b_ua, answer.registrar, answer.aor, 0, call_id, cseq + 1)
                if await self._step("unregister", end, unregister) is not None:
                    self._registration = None
        finally:
            if self.screen is not None and self.screen.refused:
                self.values["answer_invites_refused"] = sum(self.screen.refused.values())
            await self._close()

    async def _step(self, name: str, end: float, step: Awaitable[T]) -> T | None:
        t0 = self._loop.time()
        try:
            async with asyncio.timeout(max(0.05, end - t0)):
                return await step
        except Exception as exc:  # a teardown step's failure is a result, never a raise
            what = exc.code if isinstance(exc, TransportError) else type(exc).__name__
            said = f"{name}: {what}: {exc}".rstrip(": ")[:200]
            earlier = self.values.get("teardown_error")
            self.values["teardown_error"] = f"{earlier}; {said}" if earlier else said
            return None
        finally:
            self.phases["teardown"] = self.phases.get("teardown", 0.0) + self._loop.time() - t0

    async def _close(self) -> None:
        if self.out is not None:
            self.out.abandon()
        if self.uas is not None:
            self.uas.close()
        for rtp in (self.a_rtp, self.b_rtp):
            if rtp is not None:
                await rtp.close()
        for ua in (self.a_ua, self.b_ua):
            if ua is not None:
                ua.close()
