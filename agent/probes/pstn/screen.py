"""Which INVITE the answering extension takes: only the test call this run placed.

Anyone who can reach the platform can ring the extension (a forged INVITE, a wrong number, a second caller).
If it were answered, the real call would find the line busy and the run would fail: a false outage. Each
INVITE is screened before it can take the answer:

- it arrives from the registrar (a connected UDP socket only hears the registrar's address; over TCP and TLS
  only our registration's connection reaches us), for our extension (the Request-URI user);
- it carries our call's per-run token in the `X-Dialtone-Call` header, which the caller adds to its INVITE;
- where the carrier strips that header (any real PSTN hop does), `correlate: auto` falls back to the caller
  number (the From user must be our `from_number`, as carriers pass it), and the DTMF token exchange, which
  only the call we placed can complete, proves it afterwards.

A refused INVITE gets 403 (or 404 for another extension) and leaves the answer free for the real call.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal

from agent.sip.message import SipMessage, SipParseError
from agent.sip.uri import NameAddr, SipUri

CALL_HEADER = "x-dialtone-call"
"""The header carrying the per-call token from the calling leg to the answering leg."""
MIN_NUMBER_DIGITS = 7
"""Fewest trailing digits of a caller number compared (carriers may drop the country code or the +)."""

Correlate = Literal["auto", "header"]


@dataclass(slots=True)
class Screen:
    """Accepts the INVITE of our call only; `refused` counts the others, by reason."""

    extension: str
    from_number: str
    correlate: Correlate = "auto"
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    refused: dict[str, int] = field(default_factory=dict)

    def check(self, req: SipMessage) -> tuple[int, str] | None:
        """None to answer `req`; else the (status, reason) to refuse it with."""
        why = self._why(req)
        if why is None:
            return None
        self.refused[why[0]] = self.refused.get(why[0], 0) + 1
        return why[1]

    def _why(self, req: SipMessage) -> tuple[str, tuple[int, str]] | None:
        try:
            user = SipUri.parse(req.uri).user
            caller = SipUri.parse(NameAddr.parse(req.get("from")).uri).user or ""
        except (SipParseError, ValueError):
            return "malformed", (400, "Bad Request")
        if user != self.extension:
            return "other_extension", (404, "Not Found")
        token = req.get(CALL_HEADER)
        if token:
            if not secrets.compare_digest(token.encode(), self.token.encode()):
                return "wrong_token", (403, "Forbidden (not the test call)")
            return None
        if self.correlate == "header":
            return "no_token", (403, "Forbidden (no call token)")
        if not _same_number(caller, self.from_number):
            return "wrong_caller", (403, "Forbidden (not the test caller)")
        return None


def _same_number(a: str, b: str) -> bool:
    da, db = "".join(c for c in a if c.isdigit()), "".join(c for c in b if c.isdigit())
    if min(len(da), len(db)) < MIN_NUMBER_DIGITS:
        return False
    return da.endswith(db) or db.endswith(da)
