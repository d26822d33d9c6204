"""`dialtone probe KIND TARGET`: a bad TARGET is named as the TARGET the user typed, not as a --set they never
gave (it read `--set http.url: ...` for `dialtone probe http notaurl`)."""

from __future__ import annotations

import pytest

from tests.core.test_cli import dialtone


@pytest.mark.parametrize(
    "args,message",
    [
        (["http", "notaurl"], "dialtone probe: TARGET (http.url): URL 'notaurl' must start with http:// or https://"),
        (["tcp", "nohostport"], "dialtone probe: TARGET (tcp.address): 'nohostport' is not host:port"),
        (["sip_options", "http://x"], "dialtone probe: TARGET (sip_options.uri): not a sip: or sips: URI: 'http://x'"),
        (
            ["http", "http://x", "--set", "url=bad"],
            "dialtone probe: --set http.url: URL 'bad' must start with http:// or https://",
        ),
        (["http", "http://x", "--set", "bogus=1"], "dialtone probe: --set http.bogus: unknown key"),
    ],
)
def test_bad_target_names_what_the_user_gave(args: list[str], message: str) -> None:
    r = dialtone("probe", *args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == message
