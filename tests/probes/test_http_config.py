"""HTTP/TCP probe config blocks: each bad input gets its own clear error naming the key path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.net.address import parse_endpoint
from agent.net.httpwire import encode_request
from agent.probes.http.config import HttpConfig
from agent.runtime.config import ConfigError, load_config_text
from tests.probes.servers import KEY_PASSWORD, Certs


def _errors(kind: str, block: dict[str, object], base_dir: Path | None = None) -> list[str]:
    target = {"id": "t", "component": "portal", "kind": kind, kind: block}
    text = json.dumps({"components": [{"id": "portal", "name": "Portal", "tier": "supporting"}],
                       "targets": [target]})  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "dialtone.yaml", base_dir)
    return info.value.errors


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"url": "ftp://x/"}, "targets[0].http.url: URL 'ftp://x/' must start with http:// or https://"),
        ({"url": "http:///path"}, "targets[0].http.url: URL 'http:///path' has no host"),
        ({"url": "http://x:99999/"}, "targets[0].http.url: invalid URL"),
        ({"url": "http://x/", "method": "get"}, "targets[0].http.method: String should match pattern"),
        (
            {"url": "http://x/", "headers": {"X-A": "a\r\nb"}},
            "targets[0].http.headers: header X-A: value must not contain CR, LF or NUL",
        ),
        (
            {"url": "http://x/", "headers": {"Bad Name": "v"}},
            "targets[0].http.headers: header name 'Bad Name' is not a valid HTTP token",
        ),
        (
            {"url": "http://x/", "valid_status_codes": [200, 700]},
            "targets[0].http.valid_status_codes: [1]: 700 is not an HTTP status code",
        ),
        (
            {"url": "http://x/", "valid_status_codes": ["2xy"]},
            "targets[0].http.valid_status_codes: [0]: '2xy' is neither a status code nor a class like 2xx",
        ),
        (
            {"url": "http://x/", "fail_if_body_matches_regexp": ["ok", "(unclosed"]},
            "targets[0].http.fail_if_body_matches_regexp: [1]: invalid regular expression '(unclosed'",
        ),
        (
            {"url": "http://x/", "bearer_token": "a", "basic_auth": {"username": "u", "password": "p"}},
            "targets[0].http: give basic_auth or bearer_token, not both",
        ),
        (
            {"url": "http://x/", "bearer_token": "a", "headers": {"authorization": "x"}},
            "targets[0].http: an Authorization header conflicts with basic_auth/bearer_token",
        ),
        ({"url": "http://x/", "max_body_bytes": 0}, "targets[0].http.max_body_bytes: Input should be greater"),
        ({"url": "http://x/", "ip_protocol": "ipx"}, "targets[0].http.ip_protocol: Input should be 'any'"),
        (
            {"url": "http://x/", "tls_config": {"key_file": "k.pem"}},
            "targets[0].http.tls_config: key_file needs cert_file",
        ),
        (
            {"url": "http://x/", "tls_config": {"ca_file": "/nonexistent/ca.pem"}},
            "targets[0].http.tls_config: ca_file: cannot load /nonexistent/ca.pem: No such file or directory",
        ),
        (
            {"url": "http://x/", "bearer_token_file": "/nonexistent/token"},
            "targets[0].http: bearer_token_file: cannot read /nonexistent/token: No such file or directory",
        ),
        ({}, "targets[0].http.url: Field required"),
    ],
)
def test_http_config_errors(block: dict[str, object], expected: str) -> None:
    errors = _errors("http", block)
    assert any(e.startswith(f"dialtone.yaml: {expected}") for e in errors), errors


def test_secrets_never_appear_in_errors() -> None:
    errors = _errors("http", {"url": "http://x/", "bearer_token": "hunter2-token", "basic_auth": {
        "username": "u", "password": "hunter2-pass"}})  # fmt: skip
    assert not any("hunter2" in e for e in errors)


def test_wrong_key_password_is_a_config_error(certs: Certs, tmp_path: Path) -> None:
    (tmp_path / "wrong.pass").write_text("not " + KEY_PASSWORD)
    block: dict[str, object] = {"url": "https://x/", "tls_config": {
        "cert_file": str(certs.client_cert), "key_file": str(certs.client_key_encrypted),
        "key_password_file": "wrong.pass"}}  # fmt: skip
    errors = _errors("http", block, base_dir=tmp_path)
    assert any("targets[0].http.tls_config: cert_file/key_file: cannot load" in e for e in errors), errors


def test_relative_tls_paths_are_relative_to_the_config_file(certs: Certs) -> None:
    text = json.dumps(
        {
            "components": [{"id": "portal", "name": "Portal", "tier": "supporting"}],
            "targets": [
                {
                    "id": "t",
                    "component": "portal",
                    "kind": "http",
                    "http": {"url": "https://x/", "tls_config": {"ca_file": certs.ca.name}},
                }
            ],
        }
    )
    cfg = load_config_text(text, "dialtone.yaml", certs.ca.parent)
    block = cfg.targets[0].block
    assert isinstance(block, HttpConfig)
    assert block.tls_config.ca_file == certs.ca


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"address": "example.com"}, "targets[0].tcp.address: 'example.com' is not host:port"),
        ({"address": "::1:25"}, "targets[0].tcp.address: '::1:25': write an IPv6 address in brackets"),
        ({"address": "x:0"}, "targets[0].tcp.address: 'x:0': port must be 1-65535"),
        (
            {"address": "x:25", "query_response": [{}]},
            "targets[0].tcp.query_response[0]: a step needs expect, send or starttls",
        ),
        (
            {"address": "x:25", "query_response": [{"expect": "[a-"}]},
            "targets[0].tcp.query_response[0].expect: invalid regular expression '[a-'",
        ),
    ],
)
def test_tcp_config_errors(block: dict[str, object], expected: str) -> None:
    errors = _errors("tcp", block)
    assert any(e.startswith(f"dialtone.yaml: {expected}") for e in errors), errors


def test_endpoint_and_request_encoding() -> None:
    ep = parse_endpoint("https://[::1]:8443/status?x=1")
    assert (ep.host, ep.port, ep.tls, ep.target, ep.host_header) == ("::1", 8443, True, "/status?x=1", "[::1]:8443")
    ep = parse_endpoint("http://portal.example.com")
    assert (ep.port, ep.target, ep.host_header) == (80, "/", "portal.example.com")
    raw = encode_request("POST", ep, (("user-agent", "custom"),), b"abc")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST / HTTP/1.1"
    assert "Host: portal.example.com" in lines and "user-agent: custom" in lines
    assert not any(line.startswith("User-Agent:") for line in lines)
    assert "Content-Length: 3" in lines
    assert body == b"abc"
