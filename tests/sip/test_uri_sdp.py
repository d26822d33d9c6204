"""SIP URIs, name-addr values, dialogs from a 2xx, the SDP offer and answer, and the probe config blocks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.probes.sip_config import SipCallConfig, SipOptionsConfig, SipRegisterConfig
from agent.sip.dialog import Dialog
from agent.sip.message import SipMessage, SipParseError
from agent.sip.sdp import build_offer, parse_answer
from agent.sip.uri import NameAddr, SipUri


def test_uri_parts_and_round_trip():
    uri = SipUri.parse("sips:alice:pw@[2001:db8::1]:5071;transport=tcp;lr?subject=x")
    assert (uri.scheme, uri.user, uri.host_ip, uri.port) == ("sips", "alice", "2001:db8::1", 5071)
    assert uri.param("transport") == "tcp" and uri.param("lr") == "" and uri.param("maddr") is None
    assert str(uri) == "sips:alice@[2001:db8::1]:5071;transport=tcp;lr?subject=x"  # the password is dropped
    assert SipUri.parse("sip:10.0.0.1").is_ip and not SipUri.parse("sip:example.org").is_ip


@pytest.mark.parametrize("bad", ["http://x", "sip:", "sip:host:99999", "sip:[nothex]:5060", "sip:a b", "tel:+1555"])
def test_bad_uris(bad):
    with pytest.raises(SipParseError):
        SipUri.parse(bad)


def test_name_addr():
    na = NameAddr.parse('"Bob" <sip:bob@example.org;transport=tcp>;tag=xyz;expires=60')
    assert (na.display, na.uri, na.tag, na.params["expires"]) == (
        "Bob",
        "sip:bob@example.org;transport=tcp",
        "xyz",
        "60",
    )
    bare = NameAddr.parse("sip:carol@example.org;tag=1")
    assert bare.uri == "sip:carol@example.org" and bare.tag == "1"  # params of an unbracketed URI go to the header
    with pytest.raises(SipParseError):
        NameAddr.parse("<sip:unclosed")


def test_dialog_route_set_is_reversed_record_route():
    invite = SipMessage(method="INVITE", uri="sip:100@p1")
    for name, value in [("via", "SIP/2.0/UDP me;branch=z9hG4bK1"), ("from", "<sip:me@h>;tag=ours"),
                        ("to", "<sip:100@p1>"), ("call-id", "c1"), ("cseq", "2 INVITE")]:  # fmt: skip
        invite.add(name, value)
    ok = SipMessage(status=200, reason="OK", headers=list(invite.headers))
    ok.set("to", "<sip:100@p1>;tag=theirs")
    ok.add("record-route", "<sip:p2;lr>, <sip:p1;lr>")
    ok.add("contact", "<sip:100@10.0.0.7:5070>")
    dialog = Dialog.from_response(invite, ok)
    assert dialog.route_set == ["<sip:p1;lr>", "<sip:p2;lr>"] and dialog.next_hop().host == "p1"
    bye = dialog.request("BYE")
    assert bye.uri == "sip:100@10.0.0.7:5070" and bye.get_all("route") == ["<sip:p1;lr>", "<sip:p2;lr>"]
    assert bye.cseq == (3, "BYE") and dialog.request("ACK").cseq == (2, "ACK")
    ok.set("to", "<sip:100@p1>")
    with pytest.raises(SipParseError, match="tag"):
        Dialog.from_response(invite, ok)


def test_offer_and_answer():
    offer = build_offer("127.0.0.1", 40000, "pcma").decode()
    assert "m=audio 40000 RTP/AVP 8 101\r\n" in offer and "c=IN IP4 127.0.0.1" in offer
    answer = parse_answer(b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 5004 RTP/AVP 8 101\r\nc=IN IP4 10.0.0.2\r\n"
                          b"a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n")  # fmt: skip
    assert (answer.ip, answer.port, answer.codec, answer.event_pt, answer.direction) == (
        "10.0.0.2", 5004, "pcma", 101, "sendonly")  # fmt: skip


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "no audio"),
        (b"c=IN IP4 1.2.3.4\r\nm=audio 0 RTP/AVP 0\r\n", "port 0"),
        (b"m=audio 5004 RTP/AVP 0\r\n", "connection"),
        (b"c=IN IP4 1.2.3.4\r\nm=audio 5004 RTP/AVP 18\r\n", "G.711"),
        (b"c=IN IP4 host.example\r\nm=audio 5004 RTP/AVP 0\r\n", "IP address"),
        (b"c=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n", "media line"),
        (b"\xff", "UTF-8"),
    ],
)
def test_bad_answers(body, why):
    with pytest.raises(SipParseError, match=why):
        parse_answer(body)


def test_config_blocks():
    cfg = SipOptionsConfig.model_validate({"uri": "sip:pbx.example.org", "from": "sip:mon@example.org"})
    assert cfg.expected_codes == [200] and cfg.from_ == "sip:mon@example.org"
    call = SipCallConfig.model_validate({"uri": "sips:100@example.org", "duration": "500ms", "codec": "pcma"})
    assert call.duration == 0.5
    reg = SipRegisterConfig.model_validate({"uri": "sip:r", "username": "u", "password": "s3"})
    assert reg.password is not None and reg.password.get_secret_value() == "s3"
    assert "s3" not in repr(reg) and "s3" not in str(reg)


@pytest.mark.parametrize(
    ("block", "why"),
    [
        ({"uri": "http://x"}, "not a sip: or sips: URI"),
        ({"uri": "sip:x", "transport": "sctp"}, "transport"),
        ({"uri": "sip:x", "expected_codes": [99]}, "not a SIP status code"),
        ({"uri": "sip:x", "password": "p"}, "password given without username"),
        ({"uri": "sip:x", "ca_file": "/nonexistent/ca.pem"}, "ca_file"),
        ({"uri": "sip:x", "bogus": 1}, "Extra inputs"),
    ],
)
def test_config_errors(block, why):
    with pytest.raises(ValidationError, match=why):
        SipOptionsConfig.model_validate(block)
