"""Codecs on the PSTN loop: both G.711 laws offered, the answer's choice used on both legs, 488 is
codec_rejected."""

from __future__ import annotations

import pytest

from tests.pstn.conftest import run_pstn
from tests.readings import number

pytestmark = pytest.mark.peer


@pytest.mark.parametrize(("codecs", "chosen"), [(None, "pcmu"), (["pcma", "pcmu"], "pcma"), (["pcma"], "pcma")])
async def test_loop_uses_the_codec_the_answer_chose(pstn_loop, codecs, chosen):
    loop = pstn_loop()
    block = loop.block() if codecs is None else loop.block(codecs=codecs)
    result = await run_pstn(block)
    assert result.ok, (result.error, result.message)
    assert result.values["codec"] == chosen and result.values[f"codec_{chosen}"] == 1
    assert number(result.values["mos_a_to_b"]) > 4.3 and number(result.values["mos_b_to_a"]) > 4.3
    loop.assert_clean()


async def test_488_from_the_carrier_is_codec_rejected(pstn_loop):
    loop = pstn_loop()
    result = await run_pstn(loop.block("+18015550488"))
    assert result.error == "codec_rejected", result.message
    assert result.values["status_code"] == 488
    assert result.message == "488 Not Acceptable Here: none of the codecs offered (pcmu, pcma)"
    loop.assert_clean()
