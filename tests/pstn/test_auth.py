"""Refused credentials on both PSTN legs are auth_failed with the status kept; a 403 about the number is not."""

from __future__ import annotations

import pytest

from agent.probes.calls import CallCounters
from tests.pstn.conftest import run_pstn

pytestmark = pytest.mark.peer


async def test_trunk_password_refused_with_403_is_auth_failed(pstn_loop):
    loop = pstn_loop()
    counters = CallCounters()
    result = await run_pstn(loop.block(password="not-the-trunk-password"), counters=counters)
    assert result.error == "auth_failed", (result.error, result.message)
    assert result.values["status_code"] == 403
    assert result.message.startswith("403 Forbidden")
    assert counters.attempts == {("carrier-a", "rejected"): 1}
    loop.assert_clean()


async def test_403_with_a_q850_reason_on_the_trunk_is_rejected(pstn_loop):
    loop = pstn_loop()
    result = await run_pstn(loop.block("+18015550403"))
    assert result.error == "rejected", (result.error, result.message)
    assert (result.values["status_code"], result.values["q850_cause"]) == (403, 21)
    loop.assert_clean()


async def test_answering_extension_password_refused_is_auth_failed(pstn_loop):
    loop = pstn_loop()
    block = loop.block()
    block["answer"]["password"] = "not-the-extension-password"
    result = await run_pstn(block)
    assert result.error == "auth_failed", (result.error, result.message)
    assert result.values["register_status_code"] == 401
    assert "answering extension" in result.message and "401 Unauthorized" in result.message
    loop.assert_clean()
