"""Incidents: automatic ones from component transitions, human ones from Markdown files, linked into one.

A human post is a Markdown file whose YAML front matter gives title, components, status, impact and
timestamped updates; the body below the front matter is the postmortem. It links to automatic incidents
explicitly (`links: [auto-...]`) or implicitly when it names the same component and starts during, or up to
an hour before, the automatic incident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from agent.core.model import Status, Transition
from statuspage.model import Impact, Incident, IncidentStatus, Update, component_impact

LINK_LEAD = timedelta(hours=1)
"""A human post may start up to this long before the automatic incident it describes."""


class IncidentFileError(ValueError):
    """A human incident file is invalid; the message names the file and the key."""


# --- automatic incidents ---------------------------------------------------------------------------------

_OUTAGES = ("partial_outage", "major_outage")
_UNKNOWN = "unknown"
_IMPACT_RANK = {"none": 0, "maintenance": 0, "minor": 1, "major": 2, "critical": 3}


def auto_id(component: str, at: datetime) -> str:
    """Stable id of the automatic incident opened for `component` at `at`."""
    return f"auto-{component}-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def automatic_incidents(
    transitions: Iterable[Transition], names: Mapping[str, str], tiers: Mapping[str, str] | None = None
) -> list[Incident]:
    """Fold component transitions into incidents: opened by an outage, updated, resolved on recovery.

    The impact weighs the component's tier (statuspage.model.component_impact): a supporting API down is
    not a critical incident."""
    tiers = tiers or {}
    open_: dict[str, Incident] = {}
    done: list[Incident] = []
    last: dict[str, str] = {}
    for t in sorted((t for t in transitions if t.subject == "component"), key=lambda t: t.at):
        if t.new == _UNKNOWN:
            continue  # the agent stopped: a gap in monitoring is no news, and resolves nothing
        before, last[t.id] = last.get(t.id), t.new
        if t.old == _UNKNOWN and before == t.new:
            continue  # restored at start as it was before the gap: nothing changed
        current = open_.get(t.id)
        name, tier = names.get(t.id, t.id), tiers.get(t.id, "")
        if current is None:
            if t.new in _OUTAGES:
                open_[t.id] = _open(t, name, tier)
            continue
        updated = _advance(current, t, name, tier)
        if updated.resolved:
            done.append(updated)
            del open_[t.id]
        else:
            open_[t.id] = updated
    return sorted([*done, *open_.values()], key=lambda i: i.started_at, reverse=True)


def _auto_update(t: Transition, name: str, status: IncidentStatus, label: str = "") -> Update:
    # The body is English for the JSON; the page translates it from `key` (auto.<new status>).
    text = _AUTO_TEXT.get(t.new, "{name}: " + t.new).format(name=name)
    return Update(at=t.at, status=status, body=text, key=f"auto.{t.new}", subject=name, label=label)


_AUTO_TEXT = {
    "major_outage": "{name} is not responding: automatic monitoring detected a major outage.",
    "partial_outage": "{name} is partly unavailable: some automatic checks are failing.",
    "degraded_performance": "{name} is responding again with degraded performance; we are monitoring.",
    "operational": "{name} has recovered and is operational.",
    "under_maintenance": "{name} entered a scheduled maintenance window.",
}


def _impact(status: str, tier: str) -> Impact:
    return component_impact(Status(status), tier)


def _open(t: Transition, name: str, tier: str) -> Incident:
    return Incident(
        id=auto_id(t.id, t.at),
        name=f"{name}: {t.new.replace('_', ' ')}",
        status="investigating",
        impact=_impact(t.new, tier),
        created_at=t.at,
        updated_at=t.at,
        started_at=t.at,
        components=(t.id,),
        updates=(_auto_update(t, name, "investigating"),),
        automatic=True,
        subject=name,
        outage=t.new,
    )


def _advance(inc: Incident, t: Transition, name: str, tier: str) -> Incident:
    """The next automatic update. An outage changing size (partial <-> major) is news but no new status: an
    "Update" under the current status, never "Identified" (nobody identified anything) nor a repeat."""
    if t.new in _OUTAGES:
        status: IncidentStatus = "investigating" if inc.status == "monitoring" else inc.status
        impact = max(inc.impact, _impact(t.new, tier), key=_IMPACT_RANK.__getitem__)
        if t.new == "major_outage" and inc.outage != t.new:
            inc = replace(inc, outage=t.new, name=f"{name}: major outage")
    elif t.new == Status.DEGRADED_PERFORMANCE:
        status, impact = "monitoring", inc.impact
    else:  # operational, or a maintenance window that now masks the status: the outage is over
        update = _auto_update(t, name, "resolved")
        return replace(inc, status="resolved", resolved_at=t.at, updated_at=t.at, updates=(update, *inc.updates))
    update = _auto_update(t, name, status, "update" if status == inc.status else "")
    monitoring_at = t.at if status == "monitoring" and inc.status != "monitoring" else inc.monitoring_at
    return replace(
        inc, status=status, impact=impact, monitoring_at=monitoring_at, updated_at=t.at, updates=(update, *inc.updates)
    )


# --- human incidents --------------------------------------------------------------------------------------


class _UpdateFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    at: AwareDatetime
    status: Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
    body: str = Field(min_length=1)


class _IncidentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(default="", pattern=r"^([a-z0-9][a-z0-9_.-]{0,79})?$")
    title: str = Field(min_length=1, max_length=300)
    components: list[str] = Field(default_factory=list)
    status: Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
    impact: Literal["none", "minor", "major", "critical"] = "minor"
    started_at: AwareDatetime | None = None
    links: list[str] = Field(default_factory=list)
    updates: list[_UpdateFile] = Field(min_length=1)


def parse_incident(text: str, source: str, *, render: bool = True) -> Incident:
    """One Markdown incident file -> Incident; raises IncidentFileError naming `source` and the key.

    `render=False` checks the file the same way but leaves the HTML empty, without loading Markdown."""
    front, body = _split_front_matter(text, source)
    if len(text) > MAX_FILE_CHARS:
        raise IncidentFileError(f"{source}: the file is longer than {MAX_FILE_CHARS:,} characters")
    try:
        data = yaml.safe_load(front)
    except yaml.YAMLError as exc:
        raise IncidentFileError(f"{source}: invalid YAML front matter: {exc}") from None
    except RecursionError:
        raise IncidentFileError(f"{source}: invalid YAML front matter: nested too deeply") from None
    except (ValueError, TypeError, LookupError, ArithmeticError):
        # PyYAML's scalar constructors raise these for values they cannot build (`2001-02-30`, `!!float x`).
        raise IncidentFileError(
            f"{source}: invalid YAML front matter: a date-like or !!tagged value cannot be read"
        ) from None
    if not isinstance(data, dict):
        raise IncidentFileError(f"{source}: the front matter must be a mapping of keys")
    try:
        f = _IncidentFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "(front matter)"
        raise IncidentFileError(f"{source}: {where}: {err['msg']}") from None
    except RecursionError:
        raise IncidentFileError(f"{source}: the front matter is nested too deeply") from None
    try:
        return _incident(f, body, source, _markdown_html if render else _no_html)
    except OverflowError:
        raise IncidentFileError(f"{source}: a date is out of range (before year 1 in UTC)") from None


def _markdown_html(text: str) -> str:
    from statuspage.safe_markdown import markdown_html  # here: checking a post never loads Markdown

    return markdown_html(text)


def _no_html(text: str) -> str:
    return ""


def _incident(f: _IncidentFile, body: str, source: str, markdown_html: Callable[[str], str]) -> Incident:
    updates = tuple(
        Update(at=u.at.astimezone(UTC), status=u.status, body=u.body, html=markdown_html(u.body))
        for u in sorted(f.updates, key=lambda u: u.at, reverse=True)
    )
    status: IncidentStatus = f.status
    first, last = updates[-1].at, updates[0].at
    return Incident(
        id=f.id or "post-" + Path(source).stem.lower(),
        name=f.title,
        status=status,
        impact=f.impact,
        created_at=first,
        updated_at=last,
        started_at=(f.started_at or first).astimezone(UTC),
        components=tuple(f.components),
        updates=updates,
        monitoring_at=_first_at(updates, "monitoring"),
        resolved_at=_first_at(updates, "resolved") if status in ("resolved", "postmortem") else None,
        linked=tuple(f.links),
        postmortem_html=markdown_html(body) if body.strip() else "",
    )


MAX_FILE_CHARS = 200_000
"""An incident file longer than this is refused: a post is prose, and the page must render promptly."""


def _split_front_matter(text: str, source: str) -> tuple[str, str]:
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise IncidentFileError(f"{source}: must start with a '---' line opening the YAML front matter")
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    raise IncidentFileError(f"{source}: the front matter has no closing '---' line")


def _first_at(updates: Sequence[Update], status: str) -> datetime | None:
    times = [u.at for u in updates if u.status == status]
    return min(times) if times else None


def load_incidents(folder: Path, *, render: bool = True) -> list[Incident]:
    """Every `*.md` incident in `folder` (none when it does not exist); ids must be unique.

    `render=False`: the same checks, with the HTML left empty (parse_incident)."""
    if not folder.is_dir():
        return []
    out: dict[str, Incident] = {}
    for path in sorted(folder.glob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise IncidentFileError(f"{path}: cannot read: {exc}") from None
        inc = parse_incident(text, str(path), render=render)
        if inc.id in out:
            raise IncidentFileError(f"{path}: id {inc.id!r} is already used by another incident file")
        out[inc.id] = inc
    return list(out.values())


def unknown_components(incidents: Iterable[Incident], configured: Iterable[str]) -> list[str]:
    """One message per incident naming a component that is not configured (the page would show its raw id)."""
    known = list(configured)
    return [
        f"incident {inc.id!r} ({inc.name}): components: unknown component {c!r}; configured: {', '.join(known)}"
        for inc in incidents
        for c in inc.components
        if c not in known
    ]


# --- linking ----------------------------------------------------------------------------------------------


def link_incidents(automatic: Sequence[Incident], human: Sequence[Incident], now: datetime) -> list[Incident]:
    """Merge each automatic incident into the human post about the same outage; newest first."""
    claimed: dict[str, list[Incident]] = {h.id: [] for h in human}
    loose: list[Incident] = []
    for a in automatic:
        owner = next((h for h in human if a.id in h.linked), None) or next(
            (h for h in human if _same_outage(h, a, now)), None
        )
        if owner is None:
            loose.append(a)
        else:
            claimed[owner.id].append(a)
    merged = [_merge(h, claimed[h.id]) for h in human]
    return sorted([*merged, *loose], key=lambda i: i.started_at, reverse=True)


def _same_outage(h: Incident, a: Incident, now: datetime) -> bool:
    if not set(h.components) & set(a.components):
        return False
    return a.started_at - LINK_LEAD <= h.started_at <= (a.resolved_at or now)


def _merge(h: Incident, autos: Sequence[Incident]) -> Incident:
    if not autos:
        return replace(h, linked=())
    updates = merged_timeline(h.updates, [u for a in autos for u in a.updates])
    components = tuple(dict.fromkeys([*h.components, *(c for a in autos for c in a.components)]))
    return replace(
        h,
        started_at=min([h.started_at, *(a.started_at for a in autos)]),
        created_at=min([h.created_at, *(a.created_at for a in autos)]),
        updated_at=max(u.at for u in updates),
        components=components,
        updates=updates,
        linked=tuple(a.id for a in autos),
    )


def merged_timeline(human: Sequence[Update], auto: Sequence[Update]) -> tuple[Update, ...]:
    """A human post's updates with its automatic incidents' updates, newest first. Human updates lead:
    - before the first human update, the automatic detection tells what happened;
    - after it, the machine adds only a recovery the humans have not announced yet;
    - an automatic status a human already posted ("Resolved", "Identified") is never repeated."""
    said = {u.status for u in human}
    first = min((u.at for u in human), default=None)
    kept = [
        u
        for u in auto
        if (u.label or u.status not in said)
        and (first is None or u.at < first or (u.status == "resolved" and "resolved" not in said))
    ]
    out: list[Update] = []
    for u in sorted([*human, *kept], key=lambda u: u.at):
        if u.key and not u.label and out and out[-1].status == u.status and not out[-1].label:
            continue  # an automatic entry repeating the status just shown says nothing new
        out.append(u)
    return tuple(reversed(out))
