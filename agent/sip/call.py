"""The caller's side of a test call: INVITE (with CANCEL on no answer), ACK for the 2xx, and BYE."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from agent.sip.dialog import Dialog
from agent.sip.message import SipMessage
from agent.sip.transaction import ClientTransaction
from agent.sip.ua import UserAgent


class NoAnswer(Exception):
    """The INVITE got no final response in time; `cancelled` when a CANCEL was sent after a provisional."""

    def __init__(self, message: str, cancelled: bool, final: SipMessage | None) -> None:
        super().__init__(message)
        self.cancelled = cancelled
        self.final = final
        self.post_dial_delay: float | None = None


@dataclass(slots=True)
class InviteOutcome:
    """The final response of the INVITE and the timings the probe reports."""

    final: SipMessage
    dialog: Dialog | None
    post_dial_delay: float | None
    answer_seconds: float | None


async def invite(ua: UserAgent, uri: str, to: str, sdp: bytes, answer_within: float) -> InviteOutcome:
    """Send the INVITE; CANCEL it after `answer_within` seconds if it is still ringing (raises NoAnswer)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    ringing: list[float] = []
    txs: list[ClientTransaction] = []

    def on_provisional(resp: SipMessage) -> None:
        if resp.status in (180, 183) and not ringing:
            ringing.append(loop.time() - started)

    req = ua.new_request("INVITE", uri, to)
    req.add("contact", ua.contact)
    req.add("allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
    req.add("content-type", "application/sdp")
    req.body = sdp
    task = asyncio.ensure_future(ua.request(req, on_provisional, txs.append))
    try:
        final = await asyncio.wait_for(asyncio.shield(task), answer_within)
    except TimeoutError:
        try:
            final = await _cancel(ua, task, txs, answer_within)
        except NoAnswer as exc:
            exc.post_dial_delay = ringing[0] if ringing else None
            raise
    finally:
        if not task.done():
            task.cancel()  # the probe's deadline cancelled us: leave no transaction task behind
    answered = loop.time() - started
    outcome = InviteOutcome(final, None, ringing[0] if ringing else None, None)
    if 200 <= final.status < 300:
        outcome.answer_seconds = answered
        outcome.dialog = await _confirm(ua, txs[-1].request, final)
    return outcome


async def _cancel(
    ua: UserAgent, task: asyncio.Future[SipMessage], txs: list[ClientTransaction], waited: float
) -> SipMessage:
    tx = txs[-1]
    if tx.provisional is None:
        # RFC 3261 9.1: no CANCEL before a provisional response; the transaction is abandoned.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise NoAnswer(f"no response to INVITE within {waited:g}s", cancelled=False, final=None)
    await ua.request(ua.cancel(tx.request))
    final = await task  # 487 Request Terminated, or a 2xx that crossed the CANCEL
    if 200 <= final.status < 300:
        dialog = await _confirm(ua, tx.request, final)
        with contextlib.suppress(Exception):
            await bye(ua, dialog)
    raise NoAnswer(
        f"no answer within {waited:g}s after {tx.provisional.status} {tx.provisional.reason}; cancelled",
        cancelled=True,
        final=final,
    )


async def _confirm(ua: UserAgent, request: SipMessage, final: SipMessage) -> Dialog:
    """Build the dialog from the 2xx and ACK it along the route set (RFC 3261 13.2.2.4)."""
    dialog = Dialog.from_response(request, final)
    dialog.transport = await ua.transport_for(dialog.next_hop())
    dialog.ack = ua.send_in_dialog(dialog, "ACK")
    ua.dialogs.append(dialog)
    dialog.transport.send(dialog.ack)
    return dialog


async def bye(ua: UserAgent, dialog: Dialog) -> SipMessage | None:
    """Hang up, unless the far end already did; returns the BYE's final response."""
    if dialog.ended_by_remote:
        return None
    dialog.ended.set()
    return await ua.request(ua.send_in_dialog(dialog, "BYE"), transport=dialog.transport)
