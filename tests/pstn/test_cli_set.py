"""`dialtone probe pstn_call ... --set`: each value takes its key's type (an E.164 number or an extension stays
text), through the real CLI process and a real call on the Kamailio loop; errors still name the key."""

from __future__ import annotations

import json

import pytest

from tests.core.test_cli import dialtone
from tests.pstn.peers import DID, TRUNK_PASSWORD, TRUNK_USER, extension_password

pytestmark = pytest.mark.peer


def _args(loop, **extra: str) -> list[str]:
    values = {
        "route": "carrier-a", "trunk": loop.carrier.uri(), "username": TRUNK_USER, "password": TRUNK_PASSWORD,
        "from_number": "+18015559999", "duration": "1.5s", "settle": "0.1s", "token_length": "4",
        "answer.registrar": loop.platform.uri(), "answer.extension": "1001",
        "answer.password": extension_password("1001"), **extra,
    }  # fmt: skip
    out = ["probe", "pstn_call", DID, "--timeout", "8s", "--json"]
    for key, value in values.items():
        out += ["--set", f"{key}={value}"]
    return out


async def test_string_keys_take_the_literal(pstn_loop):
    loop = pstn_loop()
    r = dialtone(*_args(loop))
    assert r.returncode == 0, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["ok"] is True and out["values"]["status_code"] == 200
    loop.assert_clean()


async def test_errors_name_the_key(pstn_loop):
    loop = pstn_loop()
    r = dialtone(*_args(loop, from_number="18015559999", token_length="many"))
    assert r.returncode == 2
    assert "--set pstn_call.from_number: String should match pattern" in r.stderr
    assert "--set pstn_call.token_length: Input should be a valid integer" in r.stderr
