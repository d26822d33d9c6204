"""SLA reports as JSON, Markdown or HTML (the working shown: minutes, exclusions by cause, credit). Pure."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from agent.contract.sla import EXCLUSION_ORDER, SlaReport
from agent.contract.sla_config import SlaConfig

FORMATS = ("json", "markdown", "html")

_COLUMNS = (
    "component",
    "total min",
    "excluded min",
    "unavailable min",
    "availability",
    "experienced",
    "target",
    "allowed min",
    "met",
    "hours beyond",
    "credit days",
)


def _excluded(r: SlaReport) -> str:
    parts = [f"{c} {r.excluded_minutes[c]:.1f}" for c in EXCLUSION_ORDER if c in r.excluded_minutes]
    return "; ".join(parts) or "0"


def _row(r: SlaReport) -> list[str]:
    return [
        r.component,
        f"{r.total_minutes:.0f}",
        _excluded(r),
        f"{r.unavailable_minutes:.2f}",
        f"{r.availability * 100:.4f} %",
        f"{r.experienced_availability * 100:.4f} %",
        f"{r.target * 100:g} %",
        f"{r.allowed_minutes:.2f}",
        "yes" if r.met else "no",
        f"{r.hours_beyond:.2f}",
        f"{r.credit_days:g}",
    ]


def _title(reports: Sequence[SlaReport]) -> str:
    if not reports:
        return "SLA report"
    r = reports[0]
    mtd = " (month to date)" if r.month_to_date else ""
    return f"SLA report {r.month}{mtd}, calendar month in {r.zone}"


def _footnote(config: SlaConfig) -> str:
    unit = f"{config.credit_unit / 3600:g} h"
    return (
        f"Credit: one day per cumulative {unit} of unavailability beyond the allowance, rounded "
        f"{config.credit_rounding}, from the contract availability (calls not answered, servers not "
        "responding). Experienced availability also counts answered calls without usable audio. "
        "Maintenance and recorded exclusions count as available."
    )


def render(reports: Sequence[SlaReport], fmt: str, config: SlaConfig) -> str:
    """The reports in `fmt` (json, markdown or html)."""
    if fmt == "json":
        return json.dumps(
            {"reports": [r.to_json() for r in reports], "credit_rounding": config.credit_rounding}, indent=2
        )
    if fmt == "markdown":
        lines = [f"# {_title(reports)}", "", "| " + " | ".join(_COLUMNS) + " |"]
        lines.append("|" + "---|" * len(_COLUMNS))
        lines += ["| " + " | ".join(_row(r)) + " |" for r in reports]
        return "\n".join([*lines, "", _footnote(config)])
    if fmt == "html":
        head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in _row(r)) + "</tr>" for r in reports)
        title = html.escape(_title(reports))
        return (
            f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}</h1><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            f"<p>{html.escape(_footnote(config))}</p></body></html>"
        )
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
