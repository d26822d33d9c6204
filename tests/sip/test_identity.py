"""Against a Kamailio that checks the caller's identity (digest user = From user) and answers 403 to wrong
credentials, as production proxies do: the default From with credentials, and 403 reported as auth_failed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.peers.kamailio import IDENTITY_TEMPLATE, Kamailio, start_kamailio
from tests.readings import number
from tests.sip.conftest import run_probe

pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def checking_proxy(tmp_path_factory) -> Iterator[Kamailio]:
    k = start_kamailio(tmp_path_factory.mktemp("kam-identity"), template=IDENTITY_TEMPLATE)
    yield k
    k.stop()


def _proxy_to(sipp, tmp_path, scenario: str = "answer") -> Kamailio:
    uas = sipp(scenario, echo=True)
    return start_kamailio(tmp_path / "kam", uas_port=uas.port, template=IDENTITY_TEMPLATE)


async def test_call_with_credentials_and_no_from_is_accepted(sipp, tmp_path):
    proxy = _proxy_to(sipp, tmp_path)
    try:
        block = {"uri": proxy.uri("100"), "username": "alice", "password": "alice-secret", "duration": "0.4s"}
        result = await run_probe("sip_call", block, timeout=4.0)
        assert result.ok, (result.error, result.message)
        assert result.values["status_code"] == 200
        assert number(result.values["rtp_packets_received"]) > 0
    finally:
        proxy.stop()


async def test_options_with_credentials_and_no_from_is_accepted(checking_proxy):
    block = {"uri": checking_proxy.uri(), "username": "bob", "password": "bob-secret"}
    result = await run_probe("sip_options", block)
    assert result.ok, (result.error, result.message)
    assert result.values["status_code"] == 200


async def test_from_of_another_user_is_auth_failed_with_status(checking_proxy):
    block = {"uri": checking_proxy.uri(), "from": "sip:bob@127.0.0.1", "username": "alice", "password": "alice-secret"}
    result = await run_probe("sip_options", block)
    assert result.error == "auth_failed", result.message
    assert result.values["status_code"] == 403
    assert result.message.startswith("403 Forbidden: From is not the authenticated user")


@pytest.mark.parametrize("kind", ["sip_options", "sip_register", "sip_call"])
async def test_wrong_password_answered_403_is_auth_failed(checking_proxy, kind):
    block = {"uri": checking_proxy.uri("alice" if kind == "sip_register" else "100"),
             "username": "alice", "password": "not-the-password"}  # fmt: skip
    if kind == "sip_call":
        block["duration"] = "0.3s"
    result = await run_probe(kind, block)
    assert result.error == "auth_failed", (result.error, result.message)
    assert result.values["status_code"] == 403
    assert "403 Forbidden" in result.message


async def test_unknown_user_with_credentials_is_auth_failed(checking_proxy):
    block = {"uri": checking_proxy.uri("mallory"), "username": "mallory", "password": "whatever"}
    result = await run_probe("sip_register", block)
    assert result.error == "auth_failed", result.message
    assert result.values["status_code"] == 403


async def test_403_about_the_destination_is_not_auth_failed(checking_proxy):
    block = {"uri": checking_proxy.uri("barred"), "username": "alice", "password": "alice-secret", "duration": "0.3s"}
    result = await run_probe("sip_call", block)
    assert result.error == "error_response", result.message
    assert result.values["status_code"] == 403
