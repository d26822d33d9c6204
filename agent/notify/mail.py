"""Notice and confirmation mails: plain text + HTML from templates, RFC 8058 unsubscribe, .ics attachment.

The Message-ID is derived from the notice id and the recipient, so the copy a crash may resend (see
agent.notify.outbox) carries the same Message-ID as the first, and a receiver can drop it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2

from agent.notify.notice import Notice, Recipient
from agent.notify.words import word
from statuspage.i18n import Locale, MissingMessage

_TEMPLATES = Path(__file__).parent / "templates"


@cache
def _env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=autoescape,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def message_id(notice_id: str, target: str, domain: str) -> str:
    """The stable Message-ID of one notice to one recipient."""
    return f"<{notice_id}.{hashlib.sha256(target.encode()).hexdigest()[:16]}@{domain}>"


def unsubscribe_url(public_url: str, token: str) -> str:
    """The one-click unsubscribe link (GET shows a confirmation, POST unsubscribes: RFC 8058)."""
    return f"{public_url}notify/unsubscribe?token={quote(token)}"


def _fill(notice: Notice, lang: str) -> dict[str, Any]:
    """Template values for one notice in one language."""
    d, loc = notice.data, Locale(lang)
    maintenance = notice.kind.startswith("maintenance.")
    at = datetime.fromisoformat(d["start"] if maintenance else d["at"])
    zone = ZoneInfo(d["zone"])
    body, status = d.get("body", ""), ""
    if maintenance:
        end = datetime.fromisoformat(d["end"])
        when_local = f"{loc.datetime(at, zone)} – {loc.datetime(end, zone)}"
        when_utc = f"{at:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"
        body = d.get("reason") or ""
    else:
        when_local, when_utc = loc.datetime(at, zone), f"{at:%Y-%m-%d %H:%M} UTC"
        status = _try(loc, f"incident.{d['status']}") or d["status"]
        if d.get("key"):
            body = _try(loc, d["key"], name=d.get("subject", "")) or body
    names = d.get("component_names") or []
    return {
        "lang": lang,
        "heading": word(lang, notice.kind),
        "title": d["title"],
        "status": status,
        "body": body,
        "body_html": d.get("postmortem_html", ""),
        "when_local": when_local,
        "when_utc": when_utc,
        "when_iso": at.isoformat(),
        "affects": ", ".join(names) if names else _try(loc, "ui.all_components"),
        "url": d.get("url", ""),
        "page": d.get("page", {}).get("name", ""),
        "emergency": d.get("emergency", False),
        "reason": d.get("reason", ""),
        "ics": maintenance,
        "w": lambda key, **v: word(lang, key, **v),
    }


def _try(loc: Locale, key: str, **values: object) -> str:
    try:
        return loc(key, **values)
    except (MissingMessage, KeyError, IndexError):
        return ""


_UNSUB = "@@DIALTONE-UNSUBSCRIBE@@"


@dataclass(frozen=True, slots=True)
class _Rendered:
    subject: str
    text: str
    html: str
    ics: bytes | None


class NoticeMailer:
    """Builds notice mails: each (notice, language) is rendered once, and each recipient's copy is then
    assembled with a few C-speed operations (replace, base64), so 10,000 mails cost little CPU, leaving the
    GIL to the event loop."""

    def __init__(self, *, sender: str, public_url: str, domain: str) -> None:
        self.sender, self.public_url, self.domain = sender, public_url, domain
        self._cache: dict[tuple[str, str], _Rendered] = {}

    def build(self, notice: Notice, to: Recipient, now: datetime) -> bytes:
        """The mail telling `to` about `notice`, as the bytes handed to SMTP (CRLF line ends)."""
        r = self._rendered(notice, to.lang, now)
        unsub = unsubscribe_url(self.public_url, to.token)
        boundary = f"==dialtone-{hashlib.sha256(f'{notice.id}|{to.target}'.encode()).hexdigest()[:24]}"
        alt = f"{boundary}-alt" if r.ics else boundary
        head = [
            f"From: {self.sender}",
            f"To: {to.target}",
            f"Subject: {r.subject}",
            f"Date: {format_datetime(now)}",
            f"Message-ID: {message_id(notice.id, to.target, self.domain)}",
            f"List-Unsubscribe: <{unsub}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Auto-Submitted: auto-generated",
            f"X-Dialtone-Notice: {notice.id}",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/{"mixed" if r.ics else "alternative"}; boundary="{boundary}"',
            "",
        ]
        out = ["\r\n".join(head).encode()]
        if r.ics:
            out.append(f'\r\n--{boundary}\r\nContent-Type: multipart/alternative; boundary="{alt}"\r\n'.encode())
        for subtype, body in (("plain", r.text), ("html", r.html)):
            out.append(_part(alt, f'text/{subtype}; charset="utf-8"', body.replace(_UNSUB, unsub).encode()))
        out.append(f"\r\n--{alt}--\r\n".encode())
        if r.ics:
            name = f"{notice.ref}.ics"
            out.append(
                _part(
                    boundary,
                    'text/calendar; charset="utf-8"; method=PUBLISH',
                    r.ics,
                    f'Content-Disposition: attachment; filename="{name}"\r\n',
                )
            )
            out.append(f"\r\n--{boundary}--\r\n".encode())
        return b"".join(out)

    def _rendered(self, notice: Notice, lang: str, now: datetime) -> _Rendered:
        found = self._cache.get((notice.id, lang))
        if found is None:
            if len(self._cache) > 64:
                self._cache.clear()
            values = _fill(notice, lang) | {"unsubscribe": _UNSUB}
            subject = f"[{values['page']}] {values['heading']}: {values['title']}"
            found = _Rendered(
                Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n"),
                _env(False).get_template("notice.txt").render(values),
                _env(True).get_template("notice.html").render(values),
                occurrence_ics(notice, self.domain, now) if values["ics"] else None,
            )
            self._cache[(notice.id, lang)] = found
        return found


def _part(boundary: str, content_type: str, body: bytes, extra: str = "") -> bytes:
    """One base64 MIME part (base64 keeps every line short whatever the text)."""
    head = f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n{extra}\r\n"
    return head.encode() + base64.encodebytes(body).replace(b"\n", b"\r\n")


def confirm_mail(
    address: str, lang: str, link: str, *, sender: str, page: str, domain: str, hours: int, now: datetime, nonce: str
) -> EmailMessage:
    """The double opt-in mail: a single-use link that expires."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = address
    msg["Subject"] = word(lang, "confirm.subject", page=page)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<confirm.{nonce}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        _env(False)
        .get_template("confirm.txt")
        .render(w=lambda key, **v: word(lang, key, **v), page=page, hours=hours, link=link)
    )
    return msg


def occurrence_ics(notice: Notice, domain: str, now: datetime) -> bytes:
    """One maintenance occurrence as an iCalendar event (UID stable, SEQUENCE rising with each step)."""
    d = notice.data
    start, end = datetime.fromisoformat(d["start"]), datetime.fromisoformat(d["end"])
    step = ("scheduled", "reminder", "started", "completed").index(d["step"])
    desc = _ics_text(d.get("reason") or d["title"])
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//dialtone//notices//EN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{notice.ref}@{domain}",
        f"SEQUENCE:{step}",
        f"DTSTAMP:{now:%Y%m%dT%H%M%SZ}",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{end:%Y%m%dT%H%M%SZ}",
        f"SUMMARY:{_ics_text(d['title'])}",
        f"DESCRIPTION:{desc}",
        f"URL:{d.get('url', '')}",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines).encode()


def _ics_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")
