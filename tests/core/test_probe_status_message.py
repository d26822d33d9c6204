"""A wrong HTTP status names the codes the target accepts, as the README's `--json` example shows
("status 503 is not one of 200"); it read "status 503 is not a valid status code", though 503 is one."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.core.test_cli import ROOT, dialtone
from tests.peers.base import static_http_server


@pytest.fixture
def target() -> Iterator[int]:
    """A real HTTP server (python's http.server) in its own process, stopped by PID: any unknown path is a 404."""
    with static_http_server(ROOT / "config") as port:
        yield port


@pytest.mark.parametrize(
    "sets,message",
    [
        ([], "status 404 is not one of 2xx"),
        (["--set", "valid_status_codes=[200]"], "status 404 is not one of 200"),
        (["--set", "valid_status_codes=[200,3xx]"], "status 404 is not one of 200, 3xx"),
    ],
)
def test_the_message_names_the_accepted_codes(target: int, sets: list[str], message: str) -> None:
    r = dialtone("probe", "http", f"http://127.0.0.1:{target}/no-such-page", *sets, "--json")
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert (out["error"], out["message"], out["values"]["status_code"]) == ("http_status", message, 404)
