"""The SLA `--events` reader (agent.contract.exclusions.parse_events / load_events) and `dialtone sla compute --events`.

Any file is a list of events or a ValueError naming the file; the command exits 0 or 2 and never prints a
traceback.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.cli.entry import main
from agent.contract.exclusions import OutageEvent, load_events, parse_events, parse_exclusions
from tests.fuzz import budget, time_limit

SOURCE = "events.csv"
CELLS = st.one_of(
    st.text(max_size=25),
    st.sampled_from(["2026-03-01T00:00:00Z", "2026-03-01T01:00:00+01:00", "2026-03-01T00:00:00", "2026-03-01",
                     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1", "-1", "1e308", "core", "voice",
                     "carrier", "maintenance", "other", "none", "", "\x00", '"', "x" * 200]),
)  # fmt: skip
COLUMNS = st.lists(st.sampled_from(["start", "end", "component", "cause", "note", "", "start"]), min_size=0, max_size=5)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def check(text: str) -> None:
    try:
        with time_limit(3.0):
            events = parse_events(text, SOURCE)
    except ValueError as exc:
        assert str(exc).startswith(SOURCE + ":"), exc
        return
    for e in events:
        assert isinstance(e, OutageEvent) and e.end > e.start and e.start.tzinfo is not None


@settings(max_examples=budget(150))
@given(COLUMNS, st.lists(st.lists(CELLS, max_size=6), max_size=5))
def test_csv(header: list[str], rows: list[list[str]]) -> None:
    check(csv_text(header, rows))


@settings(max_examples=budget(150))
@given(
    st.lists(
        st.one_of(
            st.dictionaries(
                st.sampled_from(["start", "end", "component", "cause", "extra"]),
                st.one_of(CELLS, st.integers(), st.floats(), st.none(), st.booleans()),
                max_size=5,
            ),
            st.integers(),
            st.none(),
            st.lists(st.integers(), max_size=2),
        ),
        max_size=5,
    )
)
def test_json(rows: list[Any]) -> None:
    check(json.dumps(rows))


@settings(max_examples=budget(150))
@given(st.text(max_size=200))
@example("[" * 100_000)  # json.loads recursion
@example('start,end,component\n"' + "x" * 200_000)  # a CSV field over csv's field size limit
@example("start,end,component\n\x00,\x00,\x00")
def test_any_text(text: str) -> None:
    check(text)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("events")


@settings(max_examples=budget(80), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=200),
        COLUMNS.flatmap(
            lambda h: st.lists(st.lists(CELLS, max_size=5), max_size=4).map(lambda r: csv_text(h, r).encode())
        ),
    ),
    st.sampled_from(["2026-03", "2026-13", "0001-01", "9999-12", "26-03", "2026-3", "x"]),
    st.sampled_from([[], ["--target", "99.95"], ["--target", "nan"], ["--target", "0"], ["--component", "core"]]),
)
@example(b"start,end,component\n2026-03-01T00:00:00Z,2026-03-01T01:00:00Z,core\n", "9999-12", ["--target", "99"])
@example(b"start,end,component\n2026-03-01T00:00:00Z,2026-03-01T01:00:00Z,core\n", "0001-01", ["--target", "99"])
@example(b"\xff\xfe", "2026-03", ["--target", "99"])
def test_sla_compute_command(
    folder: Path, capsys: pytest.CaptureFixture[str], raw: bytes, month: str, extra: list[str]
) -> None:
    path = folder / "events.csv"
    path.write_bytes(raw)
    with time_limit(5.0):
        code = main(["sla", "compute", "--events", str(path), "--month", month, *extra])
    out, err = capsys.readouterr()
    assert code in (0, 2), (code, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert err.strip(), "exit 2 without a message"


def test_missing_and_unreadable_files(folder: Path) -> None:
    for path in (folder / "absent.csv", folder):
        with pytest.raises(ValueError, match="cannot read"):
            load_events(path)


@pytest.mark.parametrize("text", ["exclusions:\n  - start: 2001-02-30", "a: !!float x", "[" * 5000, "!!float "])
def test_exclusions_file_values_pyyaml_cannot_build(text: str) -> None:
    with pytest.raises(ValueError, match=r"^exclusions\.yaml: "):
        parse_exclusions(text, "exclusions.yaml")
