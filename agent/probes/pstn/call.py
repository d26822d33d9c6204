"""The originating leg of a PSTN test call: INVITE through a trunk, CANCEL on no answer, BYE, and teardown.

`OutgoingCall` remembers every state a call can be left in (INVITE pending, ringing, answered) so that
`teardown()` always ends it the right way: CANCEL while it rings, ACK and BYE when a 2xx crossed the
CANCEL, BYE once answered. The INVITE transaction runs in its own task, so a deadline that interrupts the
probe does not lose it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from agent.sip.dialog import Dialog
from agent.sip.digest import AuthError
from agent.sip.message import SipMessage
from agent.sip.transaction import ClientTransaction
from agent.sip.ua import UserAgent
from agent.sip.uas import NORMAL_CLEARING


class OutgoingCall:
    """One INVITE placed through `ua`; timings are loop times (monotonic seconds)."""

    def __init__(self, ua: UserAgent, request: SipMessage) -> None:
        self.ua = ua
        self.request = request
        self.loop = asyncio.get_running_loop()
        self.sent_at: float | None = None
        self.ringing_at: float | None = None
        self.answered_at: float | None = None
        self.final: SipMessage | None = None
        self.dialog: Dialog | None = None
        self.cancelled = False
        self.bye: SipMessage | None = None
        """The BYE the far end sent, if it hung up (its Reason header carries the Q.850 cause)."""
        self._txs: list[ClientTransaction] = []
        self._task: asyncio.Future[SipMessage] | None = None
        self._default = ua.on_request
        ua.on_request = self._on_request

    @staticmethod
    def build(
        ua: UserAgent, request_uri: str, to: str, sdp: bytes, headers: Sequence[tuple[str, str]] = ()
    ) -> SipMessage:
        """The INVITE with an SDP offer and extra headers (P-Asserted-Identity, a correlation header)."""
        req = ua.new_request("INVITE", request_uri, to)
        req.add("contact", ua.contact)
        req.add("allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
        for name, value in headers:
            req.add(name, value)
        req.add("content-type", "application/sdp")
        req.body = sdp
        return req

    def _on_request(self, req: SipMessage) -> SipMessage | None:
        if req.method == "BYE" and self.dialog is not None and self.dialog.matches(req):
            self.bye = req
        return self._default(req)

    def _on_provisional(self, resp: SipMessage) -> None:
        if resp.status in (180, 183) and self.ringing_at is None:
            self.ringing_at = self.loop.time()

    @property
    def post_dial_delay(self) -> float | None:
        """INVITE to the first 180/183."""
        return None if self.ringing_at is None or self.sent_at is None else self.ringing_at - self.sent_at

    @property
    def answer_seconds(self) -> float | None:
        """INVITE to the 2xx."""
        return None if self.answered_at is None or self.sent_at is None else self.answered_at - self.sent_at

    async def place(self, answer_within: float) -> SipMessage | None:
        """Send the INVITE; CANCEL it if not answered within `answer_within` s. The final response, or None
        when nothing at all answered (no CANCEL is allowed then). Raises the transaction's errors."""
        self.sent_at = self.loop.time()
        self._task = asyncio.ensure_future(self.ua.request(self.request, self._on_provisional, self._txs.append))
        try:
            final = await asyncio.wait_for(asyncio.shield(self._task), answer_within)
        except TimeoutError:
            return await self.cancel()
        except AuthError as exc:
            self.final = exc.response  # the refusal (403, or the last 401/407) is still the call's outcome
            raise
        return await self._settle(final)

    async def _settle(self, final: SipMessage) -> SipMessage:
        self.final = final
        if 200 <= final.status < 300 and self.dialog is None:
            self.answered_at = self.loop.time()
            self.dialog = await self._confirm(self._txs[-1].request, final)
        return final

    async def _confirm(self, request: SipMessage, final: SipMessage) -> Dialog:
        # Build the dialog from the 2xx and ACK it along the route set (RFC 3261 13.2.2.4).
        dialog = Dialog.from_response(request, final)
        dialog.transport = await self.ua.transport_for(dialog.next_hop())
        dialog.ack = self.ua.send_in_dialog(dialog, "ACK")
        self.ua.dialogs.append(dialog)
        dialog.transport.send(dialog.ack)
        return dialog

    async def cancel(self) -> SipMessage | None:
        """CANCEL the pending INVITE (after a provisional, RFC 3261 9.1); a 2xx that crossed it is hung up."""
        task = self._task
        if task is None or task.done():
            return self.final if task is None or task.exception() is not None else await self._settle(task.result())
        tx = self._txs[-1] if self._txs else None
        if tx is None or tx.provisional is None:
            task.cancel()  # nothing answered yet: no CANCEL is allowed, the transaction is abandoned
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return None
        self.cancelled = True
        with contextlib.suppress(Exception):
            await self.ua.request(self.ua.cancel(tx.request))
        final = await self._settle(await task)  # 487 Request Terminated, or a 2xx that crossed the CANCEL
        if self.dialog is not None:
            await self.hangup()
        return final

    async def hangup(self, reason: str = NORMAL_CLEARING) -> SipMessage | None:
        """BYE with a Reason header, unless the far end hung up already; the BYE's final response."""
        dialog = self.dialog
        if dialog is None or dialog.ended.is_set():
            return None
        dialog.ended.set()
        bye = self.ua.send_in_dialog(dialog, "BYE")
        bye.add("reason", reason)
        return await self.ua.request(bye, transport=dialog.transport)

    async def teardown(self) -> None:
        """End the call from whatever state it is in (CANCEL or BYE). Bound it with a timeout."""
        if self.dialog is not None:
            await self.hangup()
        elif self._task is not None and not self._task.done():
            await self.cancel()

    def abandon(self) -> None:
        """Last resort when teardown ran out of time: send BYE once, without waiting, and drop the INVITE."""
        dialog = self.dialog
        if dialog is not None and not dialog.ended.is_set() and dialog.transport is not None:
            dialog.ended.set()
            dialog.transport.send(self.ua.send_in_dialog(dialog, "BYE"))
        if self._task is not None and not self._task.done():
            self._task.cancel()
