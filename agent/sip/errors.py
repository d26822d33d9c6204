"""Failure classes of the SIP probes (Telegraf inputs.sip's taxonomy, plus tls_failed and dns_failed)."""

from __future__ import annotations

from agent.sip.digest import AuthError
from agent.sip.message import SipMessage, SipParseError
from agent.sip.transaction import TransactionTimeout
from agent.sip.transport import Transport, TransportError

Failure = tuple[str, str]
"""(error code, message)."""


def classify(exc: BaseException, transport: Transport | None = None, parse_errors: list[str] | None = None) -> Failure:
    """The probe error code and message for an exception raised while probing.

    `parse_errors`: the malformed responses seen, when no transport keeps them (the shared OPTIONS path).
    """
    if transport is not None:
        parse_errors = transport.parse_errors
    bad = parse_errors[-1] if parse_errors else ""
    if isinstance(exc, TransactionTimeout | TimeoutError):
        if bad:
            # Something answered, but nothing we could read: that is a bad response, not silence.
            return "bad_response", f"malformed response: {bad}"
        return "timeout", str(exc) or "no response before the deadline"
    if isinstance(exc, TransportError | AuthError):
        return exc.code, str(exc)
    if isinstance(exc, SipParseError):
        return "bad_response", str(exc)
    raise exc


def response_values(resp: SipMessage | None) -> dict[str, float | int | str | bool]:
    """status_code, and retry_after when a 503 (or other) carries Retry-After."""
    if resp is None:
        return {}
    out: dict[str, float | int | str | bool] = {"status_code": resp.status}
    retry = resp.get("retry-after").split(";")[0].split("(")[0].strip()
    if retry.isascii() and retry.isdigit() and len(retry) <= 10:  # not '²', not 5,000 digits
        out["retry_after"] = int(retry)
    return out


def error_response(resp: SipMessage) -> Failure:
    """The failure for an unexpected final response."""
    msg = f"{resp.status} {resp.reason}".strip()
    retry = response_values(resp).get("retry_after")
    if retry is not None:
        msg += f" (Retry-After {retry}s)"
    return "error_response", msg
