"""statuspage.incidents.parse_incident: any Markdown file is an Incident or IncidentFileError, promptly.

The cases below were found by fuzzing: wrong exception types for dates before year 1, values PyYAML cannot
build and deep nesting, and a Markdown body that took minutes to render.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from statuspage.incidents import IncidentFileError, parse_incident
from statuspage.model import Incident
from tests.fuzz import budget, time_limit

SOURCE = "incidents/fuzz.md"
GOOD = {
    "title": "Calls to Europe fail",
    "components": ["voice"],
    "status": "resolved",
    "impact": "major",
    "updates": [
        {"at": "2026-03-01T10:00:00Z", "status": "investigating", "body": "Looking."},
        {"at": "2026-03-01T11:00:00+01:00", "status": "resolved", "body": "Fixed."},
    ],
}
FIELDS = ["id", "title", "components", "status", "impact", "started_at", "links", "updates", "extra"]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.sampled_from(["resolved", "postmortem", "critical", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00",
                     "x" * 400, "UPPER", "voice"]),
    st.lists(st.text(max_size=5), max_size=3),
    st.lists(st.fixed_dictionaries({"at": st.sampled_from(["2026-03-01T00:00:00Z", "2026-03-01", "nope"]),
                                    "status": st.sampled_from(["resolved", "monitoring", "bad"]),
                                    "body": st.text(max_size=10)}), max_size=3),
)  # fmt: skip
MARKDOWN = st.lists(
    st.one_of(
        st.text(max_size=10),
        st.sampled_from(
            [
                "[",
                "]",
                "(",
                ")",
                "<",
                ">",
                "&",
                "*",
                "_",
                "`",
                "```",
                "#",
                "\n",
                "    ",
                "- ",
                "1. ",
                "> ",
                "!",
                "|",
                "javascript:alert(1)",
                "<script>",
                "&#0;",
                "\x00",
                "\r",
                "---",
                "\\",
            ]
        ),
    ),
    max_size=60,
).map("".join)
FRONT_TEXT = st.lists(
    st.one_of(
        st.text(max_size=6),
        st.sampled_from(
            [
                "\n",
                "  ",
                "- ",
                ": ",
                "{",
                "}",
                "[",
                "]",
                "title: ",
                "status: ",
                "updates:",
                "at: ",
                "&a ",
                "*a",
                "'",
                '"',
                "!!binary ",
                "---",
            ]
        ),
    ),
    max_size=30,
).map("".join)


def check(text: str) -> None:
    """An Incident or a file error naming the source; `render=False` (check-config) reaches the same verdict."""
    try:
        with time_limit(3.0):
            rendered = parse_incident(text, SOURCE)
    except IncidentFileError as exc:
        assert str(exc).startswith(SOURCE + ": "), exc
        with pytest.raises(IncidentFileError) as checked:
            parse_incident(text, SOURCE, render=False)
        assert str(checked.value) == str(exc)
        return
    assert parse_incident(text, SOURCE, render=False) == without_html(rendered)


def without_html(incident: Incident) -> Incident:
    """The incident as checking it without rendering Markdown gives it: every HTML field empty."""
    updates = tuple(replace(u, html="") for u in incident.updates)
    return replace(incident, postmortem_html="", updates=updates)


def document(front: Any, body: str = "") -> str:
    return "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + body


@settings(max_examples=budget(150))
@given(st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=4), st.sets(st.sampled_from(FIELDS)), MARKDOWN)
def test_mutated_front_matter_and_any_body(changes: dict[str, Any], dropped: set[str], body: str) -> None:
    front = {**GOOD, **changes}
    for name in dropped:
        front.pop(name, None)
    check(document(front, body))


@settings(max_examples=budget(150))
@given(FRONT_TEXT, MARKDOWN, st.booleans())
def test_random_text(front: str, body: str, fenced: bool) -> None:
    check(f"---\n{front}\n---\n{body}" if fenced else front + body)


# --- found by fuzzing ------------------------------------------------------------------------------------------


def _must_be_file_error(text: str, seconds: float = 3.0) -> None:
    with pytest.raises(IncidentFileError), time_limit(seconds):
        parse_incident(text, SOURCE)


def test_dates_before_year_one_utc() -> None:
    _must_be_file_error(document({**GOOD, "started_at": "0001-01-01T00:00:00+05:00"}))


@pytest.mark.parametrize("value", ["2001-02-30", "!!float x"])
def test_front_matter_values_pyyaml_cannot_build(value: str) -> None:
    _must_be_file_error(f"---\ntitle: t\nstatus: resolved\nstarted_at: {value}\nupdates: []\n---\n")


def test_deeply_nested_front_matter() -> None:
    _must_be_file_error("---\n" + "[" * 3000 + "\n---\n")


def test_unclosed_brackets_in_the_body_render_promptly() -> None:
    good = document(GOOD, "[" * 20_000)
    with time_limit(2.0):
        parse_incident(good, SOURCE)


def test_checking_without_rendering_leaves_only_the_html_out() -> None:
    text = document(GOOD, "## What happened\n\nA *carrier* route failed.")
    rendered, checked = parse_incident(text, SOURCE), parse_incident(text, SOURCE, render=False)
    assert rendered.postmortem_html.startswith("<h2>") and all(u.html for u in rendered.updates)
    assert checked.postmortem_html == "" and [u.html for u in checked.updates] == ["", ""]
    assert checked == without_html(rendered)
