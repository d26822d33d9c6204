"""Which INVITE the answering extension takes (agent/probes/pstn/screen.py), on INVITEs as the wire carries them."""

from __future__ import annotations

import pytest

from agent.probes.pstn.screen import Screen
from agent.sip.message import parse


def invite(user: str = "1001", caller: str = "+18015559999", token: str | None = None) -> bytes:
    extra = f"X-Dialtone-Call: {token}\r\n" if token is not None else ""
    return (
        f"INVITE sip:{user}@127.0.0.1:5070;transport=udp SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\n"
        f"From: <sip:{caller}@carrier.example>;tag=a1\r\nTo: <sip:+18015550100@platform.example>\r\n"
        f"Call-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:{caller}@127.0.0.1:5060>\r\n{extra}"
        "Content-Length: 0\r\n\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("mode", "raw", "expected", "reason"),
    [
        ("auto", invite(token="T"), None, None),
        ("header", invite(token="T"), None, None),
        ("auto", invite(token="other"), 403, "wrong_token"),
        ("auto", invite(user="1002", token="T"), 404, "other_extension"),
        ("header", invite(), 403, "no_token"),
        ("auto", invite(), None, None),  # the header was stripped: our caller number, the DTMF tokens confirm
        ("auto", invite(caller="8015559999"), None, None),  # a carrier dropped the country code
        ("auto", invite(caller="sipp"), 403, "wrong_caller"),
        ("auto", invite(caller="+18015551234"), 403, "wrong_caller"),
    ],
)
def test_only_our_call_is_answered(mode: str, raw: bytes, expected: int | None, reason: str | None) -> None:
    screen = Screen("1001", "+18015559999", mode, token="T")  # type: ignore[arg-type]
    refusal = screen.check(parse(raw))
    assert (refusal[0] if refusal else None) == expected
    assert screen.refused == ({reason: 1} if reason else {})
