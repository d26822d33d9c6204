"""Loaders for the SLA's inputs: the exclusions YAML file and outage event lists (CSV or JSON).

These are the only functions of the SLA that read files; every error names the file, the record and why.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from agent.contract.sla import Cause, Exclusion
from agent.core.config_base import ConfigModel, Identifier


class ExclusionRecord(ConfigModel):
    """One record of config/exclusions.yaml."""

    cause: Cause
    start: datetime
    end: datetime
    components: list[Identifier | Literal["*"]] = Field(min_length=1, description="ids, or ['*'] for all")
    note: str = ""

    @field_validator("components", mode="before")
    @classmethod
    def _star(cls, v: Any) -> Any:
        return ["*"] if v == "*" else v

    @model_validator(mode="after")
    def _check(self) -> ExclusionRecord:
        for name in ("start", "end"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} needs a UTC offset, e.g. 2026-03-05T14:00:00Z")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if "*" in self.components and len(self.components) > 1:
            raise ValueError("components: '*' (all components) cannot be mixed with ids")
        if self.cause == "other" and not self.note:
            raise ValueError("cause other needs a note saying what it was")
        return self

    def to_exclusion(self) -> Exclusion:
        """As the SLA's plain value type (all-components scope becomes the empty set)."""
        scope = frozenset() if self.components == ["*"] else frozenset(self.components)
        return Exclusion(self.cause, self.start, self.end, scope, self.note)


class _ExclusionsFile(ConfigModel):
    exclusions: list[ExclusionRecord] = Field(default_factory=list)


def _where(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _errors(source: str, exc: ValidationError) -> str:
    lines = []
    for e in exc.errors(include_input=False, include_url=False):
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, ")
        loc = tuple(e["loc"])
        lines.append(f"{source}: {_where(loc)}: {msg}" if loc else f"{source}: {msg}")
    return "\n".join(lines)


def parse_exclusions(text: str, source: str = "<exclusions>") -> list[Exclusion]:
    """Exclusions from YAML text (a mapping with an `exclusions:` list); ValueError names the record."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise ValueError(f"{source}: invalid YAML: nested too deeply") from None
    except (ValueError, TypeError, AttributeError, LookupError, ArithmeticError):
        # PyYAML's own constructors raise these for values such as `2001-02-30` or `!!float x`.
        raise ValueError(f"{source}: invalid YAML: a date-like or !!tagged value cannot be read") from None
    try:
        parsed = _ExclusionsFile.model_validate(data or {})
    except ValidationError as exc:
        raise ValueError(_errors(source, exc)) from None
    return [r.to_exclusion() for r in parsed.exclusions]


def load_exclusions(path: str | Path) -> list[Exclusion]:
    """Read the exclusions file; ValueError with file and record on any problem."""
    p = Path(path)
    try:
        return parse_exclusions(p.read_text(encoding="utf-8"), str(p))
    except OSError as exc:
        raise ValueError(f"{p}: cannot read: {exc.strerror}") from None


@dataclass(frozen=True, slots=True)
class OutageEvent:
    """One outage of `sla compute --events`: [start, end) UTC, its component and an optional cause."""

    component: str
    start: datetime
    end: datetime
    cause: str = ""


class _EventRecord(ConfigModel):
    start: datetime
    end: datetime
    component: Identifier
    cause: Cause | None = None

    @field_validator("cause", mode="before")
    @classmethod
    def _empty(cls, v: Any) -> Any:
        return None if v in ("", "none", None) else v

    @model_validator(mode="after")
    def _check(self) -> _EventRecord:
        for name in ("start", "end"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} needs a UTC offset, e.g. 2026-03-05T14:00:00Z")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


def parse_events(text: str, source: str) -> list[OutageEvent]:
    """A JSON list of objects, or CSV with a header row start,end,component[,cause]."""
    rows: Any
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: invalid JSON: {exc.msg} at line {exc.lineno}") from None
        except RecursionError:
            raise ValueError(f"{source}: invalid JSON: nested too deeply") from None
    else:
        reader = csv.DictReader(io.StringIO(text))
        try:
            missing = {"start", "end", "component"} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{source}: CSV header must name start,end,component (missing {sorted(missing)})")
            rows = [{k: v for k, v in r.items() if k} for r in reader]
        except csv.Error as exc:  # a field over csv's size limit, a NUL byte...
            raise ValueError(f"{source}: invalid CSV at line {reader.line_num}: {exc}") from None
    if not isinstance(rows, list):
        raise ValueError(f"{source}: expected a list of events")
    out = []
    for i, row in enumerate(rows):
        try:
            r = _EventRecord.model_validate(row)
        except ValidationError as exc:
            raise ValueError(_errors(f"{source}: event {i + 1}", exc)) from None
        out.append(OutageEvent(r.component, r.start, r.end, r.cause or ""))
    return out


def load_events(path: str | Path) -> list[OutageEvent]:
    """Read an events file (CSV or JSON)."""
    p = Path(path)
    try:
        return parse_events(p.read_text(encoding="utf-8"), str(p))
    except OSError as exc:
        raise ValueError(f"{p}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{p}: not UTF-8 text") from None
