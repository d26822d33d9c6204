"""agent.cli.entry with random argv lists, in-process: exit 0, 1 or 2, a message for 2, never a traceback.

`run` and `aggregate` start servers and are left out of the random commands (`aggregate` is reached only with
configs that have no mqtt: block, so it exits 2). Every path the fuzzer can name is inside a temporary folder
that is the working directory; probes go to closed ports on 127.0.0.1 with a short deadline.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.cli.entry import main
from tests.fuzz import budget, time_limit

COMMANDS = [["check-config"], ["probe"], ["schema"], ["sla", "compute"], ["sla", "report"], ["maintenance", "list"],
            ["maintenance", "ics"], ["render"], ["deadlines"], ["health-report"], ["aggregate"], ["sla"],
            ["maintenance"], []]  # fmt: skip
OPTIONS = ["-c", "--config", "--set", "--json", "--log-level", "--events", "--month", "--target", "--component",
           "--format", "--history", "--from", "--to", "-o", "--output", "--out", "--now", "--priority", "--opened",
           "-h", "--help", "--version", "--", "-", "--bogus"]  # fmt: skip
VALUES = ["valid.yaml", "broken.yaml", "secret.yaml", "events.csv", "absent.yaml", "folder", "binary.bin", "out/x",
          "2026-03", "2026-13", "0001-01", "9999-12", "26-3", "2026-03-16", "9999-12-31", "0001-01-01", "2026-02-30",
          "2026-03-16T18:00Z", "0001-01-01T00:00+01:00", "9999-12-31T23:00Z", "2026-03-16T18:00", "P1", "P4", "p2",
          "99.95", "nan", "-1", "1e999", "core", "voice", "tcp", "http", "snmp", "sip_options", "pstn_call", "nope",
          "127.0.0.1:1", "http://127.0.0.1:1/", "sip:probe@127.0.0.1:1", "[::1]:1", "t1", "json", "markdown", "html",
          "debug", "url=http://127.0.0.1:1/", "a.b.c=1", "valid_status_codes=[200", "=", "x=", "tls=true", "",
          "é", "\x00"]  # fmt: skip
# Random words always hold a space, so none of them is a host name a probe would look up in DNS.
WORDS = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),  # type: ignore[arg-type]
        blacklist_characters="/\\",
    ),
    max_size=12,
).map(lambda s: s + " x")
ARGV = st.tuples(
    st.sampled_from(COMMANDS), st.lists(st.one_of(st.sampled_from(OPTIONS), st.sampled_from(VALUES), WORDS), max_size=8)
).map(lambda t: [*t[0], *t[1]])

VALID = """
history: {path: history.sqlite}
site: {out: site}
components: [{id: core, name: Core, tier: core}]
targets:
  - {id: t1, component: core, kind: tcp, interval: 1s, timeout: 300ms, tcp: {address: "127.0.0.1:1"}}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cli")
    (root / "valid.yaml").write_text(VALID)
    (root / "broken.yaml").write_text("targets: [{id: Bad!, kind: nope}]\n: :\n")
    (root / "secret.yaml").write_text("mqtt: {host: 127.0.0.1, password: hunter2-cli}\nbogus: 1\n")
    (root / "events.csv").write_text("start,end,component\n2026-03-02T00:00:00Z,2026-03-02T01:00:00Z,core\n")
    (root / "binary.bin").write_bytes(bytes(range(256)))
    (root / "folder").mkdir()
    cwd = Path.cwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(cwd)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code: int | str | None
    if argv[:1] == ["probe"]:
        argv = ["probe", "--timeout", "300ms", *argv[1:]]
    with time_limit(15.0):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    out, err = capsys.readouterr()
    code = 0 if code is None else code
    assert code in (0, 1, 2), (argv, code, err[-2000:])
    assert "Traceback" not in out + err, (argv, err[-2000:])
    if code == 2:
        assert err.strip(), f"{argv}: exit 2 with nothing on stderr"
    assert "hunter2-cli" not in out + err, argv
    return int(code), err


@settings(max_examples=budget(150), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ARGV)
@example(["maintenance", "list", "--from", "9999-12-31", "--to", "9999-12-31"])
@example(["maintenance", "list", "--from", "0001-01-01"])
@example(["deadlines", "--priority", "P1", "--opened", "0001-01-01T00:00+01:00"])
@example(["deadlines", "--priority", "P1", "--opened", "9999-12-31T23:00Z"])
@example(["sla", "compute", "--events", "events.csv", "--month", "9999-12", "--target", "99"])
@example(["render", "-c", "valid.yaml", "--now", "0001-01-01T00:00+01:00"])
@example(["health-report", "-c", "valid.yaml", "--month", "0001-01"])
@example(["check-config", "secret.yaml"])
@example(["check-config", "\x00"])
@example(["maintenance", "ics", "-o", "a\x00"])
def test_random_argv(folder: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    if argv[:1] == ["run"]:
        return
    run(argv, capsys)


@pytest.mark.parametrize("argv", [
    ["check-config", "valid.yaml"], ["schema"], ["maintenance", "list", "--json"], ["probe", "-c", "valid.yaml", "t1"],
    ["sla", "compute", "--events", "events.csv", "--month", "2026-03", "--target", "99.95"],
    ["render", "-c", "valid.yaml", "--now", "2026-03-16T18:00Z"],
])  # fmt: skip
def test_the_grammar_reaches_real_work(folder: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """Sanity for the fuzzer's inputs: these succeed (0) or report a failed probe (1), not usage errors."""
    code, err = run(argv, capsys)
    assert code in (0, 1), err
    with contextlib.suppress(FileNotFoundError):
        assert (folder / "site").is_dir() or argv[0] != "render"
