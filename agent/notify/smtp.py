"""Handing mail to the SMTP relay: blocking smtplib, always run in a worker thread, one connection per batch."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Sequence

from agent.notify.config import SmtpConfig


class SmtpUnavailable(Exception):
    """The relay could not be reached or dropped the connection: everything not sent is retried later."""


def _connect(c: SmtpConfig, context: ssl.SSLContext | None) -> smtplib.SMTP:
    if c.security == "tls":
        conn: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
    else:
        conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        if c.security == "starttls":
            conn.starttls(context=context)
    if c.username is not None and c.password is not None:
        conn.login(c.username, c.password.get_secret_value())
    return conn


def send_batch(
    c: SmtpConfig,
    messages: Sequence[tuple[int, str, bytes]],
    sender: str,
    on_sent: Callable[[int], None],
    on_refused: Callable[[int, str, bool], None],
    context: ssl.SSLContext | None = None,
) -> int:
    """Send each (id, recipient, bytes) over one connection; call `on_sent(id)` right after each is accepted.

    A recipient refused with a 5xx is reported permanent (`on_refused(id, why, True)`), a 4xx temporary.
    A connection failure raises SmtpUnavailable after the messages already accepted were reported.
    """
    sent = 0
    try:
        conn = _connect(c, context or ssl.create_default_context(cafile=c.ca_file))
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpUnavailable(f"{c.host}:{c.port}: {exc}") from None
    try:
        for delivery_id, to, msg in messages:
            try:
                conn.sendmail(sender, [to], msg)
            except smtplib.SMTPRecipientsRefused as exc:
                code, why = next(iter(exc.recipients.values()))
                on_refused(delivery_id, f"{code} {_text(why)}", code >= 500)
                continue
            except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                on_refused(delivery_id, f"{exc.smtp_code} {_text(exc.smtp_error)}", exc.smtp_code >= 500)
                continue
            on_sent(delivery_id)
            sent += 1
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpUnavailable(f"{c.host}:{c.port}: {exc}") from None
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()
    return sent


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
