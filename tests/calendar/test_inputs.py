"""The SLA's file inputs: the exclusions YAML (including the shipped example) and outage event lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.contract.exclusions import load_exclusions, parse_events, parse_exclusions
from agent.runtime.config import load_config_text
from tests.calendar.helpers import utc

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "exclusions.yaml"


def test_shipped_example_loads() -> None:
    found = load_exclusions(EXAMPLE)
    assert [e.cause for e in found] == ["carrier", "dns", "customer"]
    assert found[0].start == utc(2026, 2, 10, 14, 5) and found[0].components == frozenset({"voice"})
    assert found[1].components == frozenset() and found[1].applies_to("anything")
    assert found[1].start == utc(2026, 2, 12, 10)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            "{cause: carrier, start: 2026-01-01T10:00:00, end: 2026-01-01T11:00:00Z, components: [voice]}",
            r"exclusions\[0\]: start needs a UTC offset",
        ),
        (
            "{cause: carrier, start: 2026-01-01T12:00:00Z, end: 2026-01-01T11:00:00Z, components: [voice]}",
            "end must be after start",
        ),
        (
            "{cause: weather, start: 2026-01-01T10:00:00Z, end: 2026-01-01T11:00:00Z, components: [voice]}",
            r"exclusions\[0\]\.cause: Input should be 'carrier'",
        ),
        (
            "{cause: other, start: 2026-01-01T10:00:00Z, end: 2026-01-01T11:00:00Z, components: [voice]}",
            "other needs a note",
        ),
        (
            "{cause: dns, start: 2026-01-01T10:00:00Z, end: 2026-01-01T11:00:00Z, components: ['*', voice]}",
            "cannot be mixed",
        ),
        ("{cause: dns, start: 2026-01-01T10:00:00Z, end: 2026-01-01T11:00:00Z, components: []}", "at least 1 item"),
        (
            "{cause: dns, start: 2026-01-01T10:00:00Z, end: 2026-01-01T11:00:00Z, components: [x], colour: red}",
            r"exclusions\[0\]\.colour: unknown key",
        ),
    ],
)
def test_bad_exclusions_name_the_record_and_the_reason(record: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_exclusions(f"exclusions:\n  - {record}\n", "x.yaml")
    assert str(info.value).startswith("x.yaml: ")


def test_unreadable_exclusions_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        load_exclusions(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="invalid YAML"):
        parse_exclusions("exclusions: [", "bad.yaml")


def test_events_from_csv_and_json_agree() -> None:
    csv_text = (
        "start,end,component,cause\n2026-03-05T10:00:00Z,2026-03-05T12:00:00Z,voice,\n"
        "2026-03-06T10:00:00-07:00,2026-03-06T11:00:00-07:00,portal,carrier\n"
    )
    json_text = (
        '[{"start": "2026-03-05T10:00:00Z", "end": "2026-03-05T12:00:00Z", "component": "voice"},'
        '{"start": "2026-03-06T17:00:00Z", "end": "2026-03-06T18:00:00Z", "component": "portal",'
        ' "cause": "carrier"}]'
    )
    assert parse_events(csv_text, "e.csv") == parse_events(json_text, "e.json")
    second = parse_events(csv_text, "e.csv")[1]
    assert (second.start, second.cause) == (utc(2026, 3, 6, 17), "carrier")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("begin,end,component\n", r"CSV header must name start,end,component \(missing \['start'\]\)"),
        ("start,end,component\n2026-03-05T10:00:00,2026-03-05T12:00:00Z,voice\n", "event 1: start needs a UTC"),
        ("start,end,component\n2026-03-05T10:00:00Z,2026-03-05T09:00:00Z,voice\n", "event 1: end must be after"),
        ("start,end,component\nyesterday,2026-03-05T09:00:00Z,voice\n", r"event 1: start: Input should be"),
        ('[{"start": 1}', "invalid JSON"),
        (
            '[{"start": "2026-03-05T10:00:00Z", "end": "2026-03-05T11:00:00Z", "component": "v", "cause": "x"}]',
            r"event 1: cause: Input should be",
        ),
    ],
)
def test_bad_events_are_refused_with_the_row(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_events(text, "e")


def test_config_resolves_the_exclusions_file_next_to_the_config(tmp_path: Path) -> None:
    config = load_config_text("sla:\n  exclusions_file: exclusions.yaml\n", "c.yaml", tmp_path)
    assert config.sla.exclusions_file == tmp_path / "exclusions.yaml"
    assert config.sla.credit_rounding == "floor" and config.sla.zone == "America/Denver"
    assert config.maintenance.standard and config.maintenance.certificate_upload
