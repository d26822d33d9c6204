"""Failure classes of the SIP probes (Telegraf inputs.sip's taxonomy, plus tls_failed and dns_failed)."""

from __future__ import annotations

import re
from collections.abc import Sequence

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


_DESTINATION_WORDS = re.compile(
    r"destination|number|called|callee|route|barred|not allowed to call|international|premium|country|prefix",
    re.IGNORECASE,
)


def concerns_destination(resp: SipMessage) -> bool:
    """True when a 403 says it refuses the destination, not the caller: a Q.850 Reason (RFC 3326; a call
    processing cause such as 21 call rejected) or a Warning (RFC 3261 20.43) whose text names the number."""
    if any(value.strip().lower().startswith("q.850") for value in resp.get_all("reason")):
        return True
    return any(_DESTINATION_WORDS.search(value) for value in resp.get_all("warning"))


def refused_credentials(request: SipMessage, resp: SipMessage) -> bool:
    """A 403 answered to a request that carried our credentials refuses them (Kamailio, FreeSWITCH and
    Asterisk answer a wrong password or an identity that is not the authenticated user so), unless it is an
    INVITE's 403 that clearly concerns the destination."""
    if resp.status != 403:
        return False
    if not (request.get("authorization") or request.get("proxy-authorization")):
        return False
    return not (request.method == "INVITE" and concerns_destination(resp))


def error_response(resp: SipMessage) -> Failure:
    """The failure for an unexpected final response."""
    msg = f"{resp.status} {resp.reason}".strip()
    retry = response_values(resp).get("retry_after")
    if retry is not None:
        msg += f" (Retry-After {retry}s)"
    return "error_response", msg


CODEC_REJECTED = (488, 606)
"""Not Acceptable Here / Not Acceptable: the far end takes none of the codecs offered."""


def codec_rejected(resp: SipMessage, offered: Sequence[str]) -> Failure:
    """The failure of a 488/606 to our offer, naming the codecs offered."""
    return "codec_rejected", f"{resp.status} {resp.reason}: none of the codecs offered ({', '.join(offered)})"


def codec_values(codec: str) -> dict[str, float | int | str | bool]:
    """values.codec and the labelled one that becomes probe_sip_codec{codec}."""
    return {"codec": codec, f"codec_{codec}": 1}
