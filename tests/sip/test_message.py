"""SIP message parsing and building: compact forms, several Vias, framing, limits, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.sip import message
from agent.sip.message import (
    SipMessage,
    SipParseError,
    StreamFramer,
    parse,
    parse_cseq,
    redact,
    split_commas,
    via_param,
)

RESPONSE = (
    b"SIP/2.0 200 OK\r\n"
    b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKaaa;rport=5060, SIP/2.0/TCP 10.0.0.2;branch=z9hG4bKbbb\r\n"
    b"VIA: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bKccc\r\n"
    b"f: <sip:a@example.org>;tag=1\r\n"
    b't: "Bob, Jr" <sip:b@example.org>;tag=2\r\n'
    b"i: abc@host\r\n"
    b"cseq: 7 OPTIONS\r\n"
    b"m: <sip:b@10.0.0.9:5070>\r\n"
    b"Subject: first\r\n second line\r\n"
    b"l: 4\r\n"
    b"\r\n"
    b"bodyEXTRA"
)


def test_compact_and_case_insensitive_names():
    msg = parse(RESPONSE)
    assert msg.status == 200 and msg.reason == "OK"
    assert msg.get("Call-ID") == msg.get("i") == "abc@host"
    assert msg.cseq == (7, "OPTIONS")
    assert msg.get("contact") == "<sip:b@10.0.0.9:5070>"
    assert msg.get("TO") == '"Bob, Jr" <sip:b@example.org>;tag=2'
    assert msg.get("subject") == "first second line"  # folded line joined


def test_several_vias_in_order_and_top_branch():
    msg = parse(RESPONSE)
    assert [v.split(";branch=")[1][:10] for v in msg.get_all("via")] == ["z9hG4bKaaa", "z9hG4bKbbb", "z9hG4bKccc"]
    assert msg.branch == "z9hG4bKaaa"


def test_datagram_body_cut_to_content_length():
    assert parse(RESPONSE).body == b"body"


def test_build_uses_full_names_and_sets_length():
    msg = parse(RESPONSE)
    text = msg.to_bytes()
    assert b"\r\nCall-ID: abc@host\r\n" in text and b"\r\nCSeq: 7 OPTIONS\r\n" in text
    assert text.endswith(b"Content-Length: 4\r\n\r\nbody")
    again = parse(text)
    assert again.headers == [(k, v) for k, v in msg.headers if k != "content-length"] + [("content-length", "4")]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "blank line"),
        (b"HELLO\r\n\r\n", "request line"),
        (b"SIP/2.0 99 Low\r\n\r\n", "status line"),
        (RESPONSE.replace(b"cseq: 7 OPTIONS", b"cseq: seven OPTIONS"), "CSeq"),
        (RESPONSE.replace(b"i: abc@host\r\n", b""), "Call-ID"),
        (RESPONSE.replace(b"l: 4", b"l: 40"), "Content-Length"),
        (RESPONSE.replace(b"l: 4", b"l: -1"), "Content-Length"),
        (RESPONSE.replace(b"f: <sip", b"f <sip"), "header line"),
        (b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n", "match"),
        (RESPONSE.replace(b"abc@host", b"\xff\xfe"), "UTF-8"),
    ],
)
def test_malformed_is_sip_parse_error(data, why):
    with pytest.raises(SipParseError, match=why):
        parse(data)


def test_size_limit():
    with pytest.raises(SipParseError, match="limit"):
        parse(RESPONSE, max_size=100)


def test_stream_framing_fragments_and_several_per_read():
    one = parse(RESPONSE).to_bytes()
    framer = StreamFramer()
    stream = b"\r\n\r\n" + one + one + one  # keep-alive CRLFs first
    got: list[SipMessage] = []
    for i in range(0, len(stream), 7):  # fragments of 7 bytes
        got.extend(framer.feed(stream[i : i + 7]))
    assert len(got) == 3 and all(m.body == b"body" for m in got)
    assert len(list(StreamFramer().feed(one * 2))) == 2


def test_stream_needs_content_length_and_limits_size():
    no_length = parse(RESPONSE).to_bytes().replace(b"Content-Length: 4\r\n", b"")
    with pytest.raises(SipParseError):
        list(StreamFramer().feed(no_length))
    with pytest.raises(SipParseError, match="limit"):
        list(StreamFramer(max_size=200).feed(b"X" * 300))
    with pytest.raises(SipParseError, match="limit"):
        list(StreamFramer(max_size=300).feed(parse(RESPONSE).to_bytes().replace(b"Length: 4", b"Length: 999")))


def test_redaction_of_credentials():
    req = SipMessage(method="REGISTER", uri="sip:r")
    req.add("authorization", 'Digest username="u", response="abc123"')
    req.add("proxy-authorization", 'Digest username="u", response="def456"')
    for text in (req.dump(), str(req), redact(req.to_bytes().decode())):
        assert "abc123" not in text and "def456" not in text
        assert "Authorization: <redacted>" in text and "Proxy-Authorization: <redacted>" in text


def test_split_commas_respects_quotes_and_brackets():
    assert split_commas('"a, b" <sip:x;p=1,2>, <sip:y>') == ['"a, b" <sip:x;p=1,2>', "<sip:y>"]


# --- fuzzing ----------------------------------------------------------------------------------------------

_token = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~", min_size=1, max_size=12
)
_value = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85"),
    max_size=40,
).map(str.strip)


@st.composite
def messages(draw: st.DrawFn) -> SipMessage:
    if draw(st.booleans()):
        method = draw(_token)
        msg = SipMessage(method=method, uri="sip:" + draw(_token))
    else:
        method = draw(_token)
        msg = SipMessage(status=draw(st.integers(100, 699)), reason=draw(_value))
    msg.add("via", "SIP/2.0/UDP h;branch=z9hG4bK" + draw(_token))
    msg.add("from", "<sip:a@b>;tag=" + draw(_token))
    msg.add("to", "<sip:c@d>")
    msg.add("call-id", draw(_token))
    msg.add("cseq", f"{draw(st.integers(0, 2**31 - 1))} {method}")
    extra = draw(st.lists(st.tuples(_token, _value), max_size=6))
    for name, value in extra:
        if name.lower() not in ("content-length", "l", "cseq", "call-id", "i", "via", "v", "from", "f", "to", "t"):
            msg.add(name, value)
    msg.body = draw(st.binary(max_size=64))
    return msg


@given(messages())
def test_build_then_parse_round_trips(msg):
    for stream in (False, True):
        again = parse(msg.to_bytes(), stream=stream)
        assert (again.method, again.uri, again.status, again.body) == (msg.method, msg.uri, msg.status, msg.body)
        assert again.headers[:-1] == msg.headers  # plus the Content-Length the builder added
        assert again.cseq == msg.cseq


@given(st.binary(max_size=600))
def test_parse_raises_only_sip_parse_error_on_bytes(data):
    try:
        parse(data)
    except SipParseError:
        pass


@given(messages(), st.data())
def test_mutated_messages_raise_only_sip_parse_error(msg, data):
    raw = bytearray(msg.to_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, max(0, len(raw) - 1)))
        raw[pos : pos + 1] = data.draw(st.binary(min_size=0, max_size=3))
    for stream in (False, True):
        try:
            m = parse(bytes(raw), stream=stream)
            _ = (m.cseq, m.branch, m.get_all("via"), m.first_line(), m.to_bytes())
        except SipParseError:
            pass
    try:
        for m in StreamFramer().feed(bytes(raw) * 2):
            _ = m.cseq
    except SipParseError:
        pass


@given(st.text(max_size=30))
def test_memoised_status_lines_and_cseqs_answer_as_the_first_time(text):
    """The first line and CSeq memos (agent/sip/message.py) give what parsing gave, and never remember errors."""

    def outcome(call, arg):
        try:
            value = call(arg)
        except SipParseError:
            return "error"
        return (value.method, value.uri, value.status, value.reason) if isinstance(value, SipMessage) else value

    for line in (text, f"SIP/2.0 {text}", f"SIP/2.0 200 {text}", f"OPTIONS {text} SIP/2.0"):
        assert outcome(message._parse_first_line, line) == outcome(message._parse_first_line, line)
    for value in (text, f"1 {text}", f"{text} OPTIONS"):
        assert outcome(parse_cseq, value) == outcome(parse_cseq, value)


def test_memoised_first_line_gives_a_new_message_each_time_and_stays_bounded():
    rest = b"\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"
    a = parse(b"SIP/2.0 404 Not Here\r\nVia: x;branch=z9hG4bK1" + rest)
    a.headers.clear()
    b = parse(b"SIP/2.0 404 Not Here\r\nVia: x;branch=z9hG4bK2" + rest)
    assert (b.status, b.reason, b.branch) == (404, "Not Here", "z9hG4bK2") and b is not a
    for i in range(600):
        message._parse_first_line(f"SIP/2.0 200 OK {i}")
        parse_cseq(f"{i} OPTIONS")
    assert len(message._FIRST_LINES) <= 256 and len(message._CSEQS) <= 256
    assert message._parse_first_line("SIP/2.0 200 OK 599").reason == "OK 599"  # past the bound: still parsed


VIA_TEXT = st.lists(
    st.sampled_from(["SIP/2.0/UDP h", ";branch=", "z9hG4bKa", ";BRANCH=", "b", ",", " ", '"', "<", ">", ";x=branch"]),
    max_size=8,
).map("".join)


def _branch_by_definition(msg: SipMessage) -> str:
    """The branch parameter of the first value of get('via'), by the general parameter parser."""
    return via_param(msg.get("via"), "branch")


@given(st.lists(st.tuples(st.sampled_from(["via", "from", "cseq"]), VIA_TEXT), max_size=4))
def test_branch_reads_the_top_via_as_get_does(headers):
    msg = SipMessage(status=200, headers=headers)
    assert msg.branch == _branch_by_definition(msg)
