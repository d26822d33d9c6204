"""The monthly health check as Markdown, HTML or JSON, written for a customer's monthly review."""

from __future__ import annotations

import html
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import markdown

from agent.snmp.health import DeviceHealth, HourScore, MonthlyHealth

FORMATS = ("markdown", "html", "json")


def render(report: MonthlyHealth, fmt: str, zone: str) -> str:
    """The report in `fmt` (markdown, html, json), local times in `zone`."""
    if fmt == "json":
        return json.dumps(to_json(report), indent=2, sort_keys=False)
    text = to_markdown(report, zone)
    if fmt == "markdown":
        return text
    if fmt == "html":
        body = markdown.markdown(text, extensions=["tables"], output_format="html")
        title = html.escape(f"System health check — {report.month}")
        return (
            f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
        )
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d232a}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccd;padding:.3rem .6rem;"
    "text-align:left}th{background:#f2f4f7}h2{margin-top:2rem;border-bottom:1px solid #ccd}"
)


def _pct(value: float | None) -> str:
    return "no data" if value is None else f"{value:.3f} %"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _md(text: str) -> str:
    """Escape what Markdown would read as table or emphasis syntax in names that come from devices."""
    return "".join("\\" + c if c in "|*_`[]<>" else c for c in text)


def to_markdown(report: MonthlyHealth, zone: str) -> str:
    """The customer-facing Markdown text."""
    lines = [
        f"# System health check — {report.month}",
        "",
        f"Period: {_local(report.start, zone)} to {_local(report.end, zone)}. "
        "Availability counts the time each device was confirmed down by monitoring.",
        "",
        "| Device | Availability | Reboots | Interface flaps | Threshold breaches |",
        "|---|---|---|---|---|",
    ]
    for d in report.devices:
        lines.append(
            f"| {_md(d.name)} | {_pct(d.availability)} | {len(d.reboots)} | {sum(d.flaps.values())} "
            f"| {len(d.breaches)} |"
        )
    if not report.devices:
        lines += ["", "No managed devices are configured."]
    for d in report.devices:
        lines += ["", *_device_md(d, zone)]
    return "\n".join(lines) + "\n"


def _device_md(d: DeviceHealth, zone: str) -> list[str]:
    out = [
        f"## {_md(d.name)}",
        "",
        f"- Availability: **{_pct(d.availability)}** (down {_duration(d.down_seconds)})",
        f"- Successful polls: {_pct(d.poll_success)} of {d.polls_ok + d.polls_failed}",
        f"- Reboots: {len(d.reboots)}"
        + (" (" + ", ".join(_local(r, zone) for r in d.reboots) + ")" if d.reboots else ""),
    ]
    if d.flaps:
        out += ["", "| Interface | Times it went down |", "|---|---|"]
        out += [f"| {_md(i)} | {n} |" for i, n in d.flaps.items()]
    else:
        out.append("- Interface flaps: none")
    if d.breaches:
        out += ["", "| Check | Level | Started | Lasted | Peak |", "|---|---|---|---|---|"]
        out += [
            f"| {_md(b.check)} | {b.level} | {_local(b.start, zone)} | {_duration(b.seconds)} | {b.peak:g} |"
            for b in d.breaches
        ]
    else:
        out.append("- Threshold breaches: none")
    if d.worst_hours:
        out += ["", "Worst hours:", ""]
        out += [f"1. {_local(h.start, zone)}: {_hour_text(h)}" for h in d.worst_hours]
    return out


def _hour_text(h: HourScore) -> str:
    parts = []
    if h.down_seconds:
        parts.append(f"down {_duration(h.down_seconds)}")
    if h.breach_seconds:
        parts.append(f"over a threshold {_duration(h.breach_seconds)}")
    if h.events:
        parts.append(f"{h.events} event{'s' if h.events != 1 else ''}")
    return ", ".join(parts)


def to_json(report: MonthlyHealth) -> dict[str, object]:
    """A stable JSON shape; instants are ISO 8601 UTC."""
    return {
        "month": report.month,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "devices": [
            {
                "target": d.target,
                "name": d.name,
                "availability_percent": d.availability,
                "down_seconds": d.down_seconds,
                "observed_seconds": d.observed_seconds,
                "poll_success_percent": d.poll_success,
                "polls": d.polls_ok + d.polls_failed,
                "reboots": [r.isoformat() for r in d.reboots],
                "interface_flaps": d.flaps,
                "threshold_breaches": [
                    {
                        "check": b.check,
                        "level": b.level,
                        "start": b.start.isoformat(),
                        "end": b.end.isoformat(),
                        "seconds": b.seconds,
                        "peak": b.peak,
                    }
                    for b in d.breaches
                ],
                "worst_hours": [
                    {
                        "start": h.start.isoformat(),
                        "down_seconds": h.down_seconds,
                        "breach_seconds": h.breach_seconds,
                        "events": h.events,
                    }
                    for h in d.worst_hours
                ],
            }
            for d in report.devices
        ],
    }
