"""Webhook deliveries: a JSON POST signed with HMAC-SHA256 over the timestamp and the body.

Header: ``X-Dialtone-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``. A receiver
recomputes the HMAC over the exact bytes received, compares in constant time, and refuses a timestamp
older than a few minutes (a replay). `verify()` below is that check, for receivers written in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import aiohttp

from agent.notify.notice import Notice

SIGNATURE_HEADER = "X-Dialtone-Signature"
NOTICE_HEADER = "X-Dialtone-Notice"
TOLERANCE = 300.0
"""Seconds a receiver should accept between the signed timestamp and its own clock."""


def payload(notice: Notice, now: datetime) -> bytes:
    """The JSON body: meta, page, and the incident or scheduled_maintenance object in Statuspage v2 shape."""
    d = notice.data
    doc: dict[str, Any] = {
        "meta": {
            "notice_id": notice.id,
            "kind": notice.kind,
            "generated_at": now.isoformat(),
            "due_at": notice.due.isoformat(),
        },
        "page": d.get("page", {}),
    }
    if "incident" in d:
        doc["incident"] = d["incident"]
    if "scheduled_maintenance" in d:
        obj = dict(d["scheduled_maintenance"])
        obj["status"] = {
            "scheduled": "scheduled",
            "reminder": "scheduled",
            "started": "in_progress",
            "completed": "completed",
        }[d["step"]]
        doc["scheduled_maintenance"] = obj
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: float = TOLERANCE) -> bool:
    """True when `header` signs `body` with `secret` and its timestamp is within `tolerance` of `now`."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


async def post(
    session: aiohttp.ClientSession, url: str, secret: str, notice: Notice, now: datetime, seconds: float
) -> str | None:
    """POST one notice; None when the receiver answered 2xx, else why it failed (retried later)."""
    body = payload(notice, now)
    headers = {
        "Content-Type": "application/json",
        NOTICE_HEADER: notice.id,
        SIGNATURE_HEADER: sign(secret, int(now.timestamp()), body),
        "User-Agent": "dialtone-notify",
    }
    try:
        async with session.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=seconds)) as resp:
            await resp.read()
            return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
