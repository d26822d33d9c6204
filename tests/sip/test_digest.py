"""Digest authentication: RFC 7616 test vectors, algorithm choice, nc counting, stale and refusal."""

from __future__ import annotations

import re

import pytest

from agent.sip.digest import AuthError, Challenge, DigestClient, challenges
from agent.sip.message import SipMessage, SipParseError

# RFC 7616 section 3.9.1.
RFC = {
    "realm": "http-auth@example.org",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
}


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_vectors(algorithm, expected):
    ch = Challenge.parse(
        f'Digest realm="{RFC["realm"]}", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC["nonce"]}", opaque="{RFC["opaque"]}"'
    )
    client = DigestClient("Mufasa", "Circle of Life")
    value = client.answer(ch, "GET", "/dir/index.html", cnonce=RFC["cnonce"])
    assert f'response="{expected}"' in value
    assert "nc=00000001" in value and "qop=auth," in value + ","
    assert f'opaque="{RFC["opaque"]}"' in value


def _challenge_response(*headers: tuple[str, str], status: int = 401) -> SipMessage:
    msg = SipMessage(status=status, reason="Unauthorized")
    for name, value in headers:
        msg.add(name, value)
    return msg


def test_strongest_algorithm_is_chosen():
    resp = _challenge_response(
        ("www-authenticate", 'Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"'),
        ("www-authenticate", 'Digest realm="r", nonce="n2", algorithm=SHA-512-256, qop="auth"'),
        ("www-authenticate", 'Digest realm="r", nonce="n3", algorithm=SHA-256, qop="auth"'),
        ("www-authenticate", 'Digest realm="r", nonce="n4", algorithm=UNKNOWN-HASH'),
    )
    assert [c.algorithm for c in challenges(resp)] == ["SHA-512-256", "SHA-256", "MD5"]
    client = DigestClient("u", "p")
    client.on_challenge(resp)
    req = SipMessage(method="REGISTER", uri="sip:example.org")
    client.authorize(req)
    assert "algorithm=SHA-512-256" in req.get("authorization")
    assert 'nonce="n2"' in req.get("authorization")


def test_md5_sess_and_no_qop():
    client = DigestClient("u", "p")
    sess = client.answer(
        Challenge.parse('Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth"'), "INVITE", "sip:a"
    )
    assert "algorithm=MD5-sess" in sess and "cnonce=" in sess
    legacy = client.answer(Challenge.parse('Digest realm="r", nonce="n"'), "INVITE", "sip:a")
    assert "qop=" not in legacy and "nc=" not in legacy  # RFC 2069 form without qop


def test_nc_counts_per_nonce():
    client = DigestClient("u", "p")
    ch = Challenge.parse('Digest realm="r", nonce="n", qop="auth"')
    values = [client.answer(ch, "REGISTER", "sip:r") for _ in range(3)]
    counts = [re.search(r"nc=(\w+)", v) for v in values]
    assert [m.group(1) if m else None for m in counts] == ["00000001", "00000002", "00000003"]
    other = client.answer(Challenge.parse('Digest realm="r", nonce="m", qop="auth"'), "REGISTER", "sip:r")
    assert "nc=00000001" in other


def test_rechallenge_means_bad_password_unless_stale():
    client = DigestClient("u", "p")
    first = _challenge_response(("www-authenticate", 'Digest realm="r", nonce="a", qop="auth"'))
    client.on_challenge(first)
    client.authorize(SipMessage(method="REGISTER", uri="sip:r"))
    stale = _challenge_response(("www-authenticate", 'Digest realm="r", nonce="b", qop="auth", stale=TRUE'))
    client.on_challenge(stale)  # a stale nonce: answer again with the new one
    req = SipMessage(method="REGISTER", uri="sip:r")
    client.authorize(req)
    assert 'nonce="b"' in req.get("authorization")
    again = _challenge_response(("www-authenticate", 'Digest realm="r", nonce="c", qop="auth"'))
    with pytest.raises(AuthError) as info:
        client.on_challenge(again)
    assert info.value.code == "auth_failed"


def test_proxy_challenge_uses_proxy_authorization():
    client = DigestClient("u", "p")
    client.on_challenge(_challenge_response(("proxy-authenticate", 'Digest realm="px", nonce="n"'), status=407))
    req = SipMessage(method="INVITE", uri="sip:100@px")
    client.authorize(req)
    assert req.get("proxy-authorization").startswith("Digest ")
    assert req.get("authorization") == ""


def test_no_usable_challenge_is_auth_failed():
    with pytest.raises(AuthError):
        DigestClient("u", "p").on_challenge(_challenge_response(("www-authenticate", "Basic realm=x")))


@pytest.mark.parametrize("bad", ["Digest", "Digest realm=", 'Digest nonce="x"', 'Digest realm="x" nonce', "NTLM abc"])
def test_malformed_challenge(bad):
    with pytest.raises(SipParseError):
        Challenge.parse(bad)
