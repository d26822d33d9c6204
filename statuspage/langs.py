"""Per-language Jinja environments (compiled templates shared between them), fixed words, and static files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from statuspage.config import SiteConfig
from statuspage.fmt import Fmt
from statuspage.fragments import SharedBytecode
from statuspage.i18n import Locale
from statuspage.model import Incident
from statuspage.svg import SvgError, sanitise_svg

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

_BYTECODE = SharedBytecode()


class SiteError(Exception):
    """The site cannot be rendered as configured (e.g. an unreadable logo); names the file and the reason."""


@dataclass(frozen=True, slots=True)
class Lang:
    """One language's template environment, formatters and fixed words."""

    code: str
    env: jinja2.Environment
    loc: Locale
    fmt: Fmt
    prefix: str
    names: dict[str, str]
    """Component names, updated in place each render (templates and their macro modules hold this dict)."""

    @property
    def parts(self) -> Any:
        """The macros of fragments.html (a module Jinja builds once and keeps; it sees the live globals)."""
        return self.env.get_template("fragments.html").module

    @classmethod
    def make(cls, site: SiteConfig, lang: str, brand: Mapping[str, str]) -> Lang:
        """The language `lang` of `site`: its environment, formatters, words and path prefix."""
        loc = Locale(lang)
        fmt = Fmt(loc, site.zone)
        names: dict[str, str] = {}
        labels = {
            "ago90": loc("ui.days_ago", n=90),
            "ago30": loc("ui.days_ago", n=30),
            "today": loc("ui.today"),
            "up30": loc("label.uptime_30"),
            "up90": loc("label.uptime_90"),
        }
        prefix = "" if lang == site.default_language else f"{lang}/"
        env = _environment(loc, fmt, brand, names, labels)
        # The provider writes names, posts and windows in its default language: marked as such elsewhere.
        source = Locale(site.default_language).tag
        src = Markup("") if source == loc.tag else Markup(f' lang="{source}"')
        env.globals.update(
            lang_tag=loc.tag,
            src=src,
            phrase=partial(_phrase, loc, src),
            live_refresh=int(site.live_refresh),
            subscribe_url=site.subscribe_url,
        )
        return cls(lang, env, loc, fmt, prefix, names)


def _environment(
    loc: Locale, fmt: Fmt, brand: Mapping[str, str], names: dict[str, str], labels: dict[str, str]
) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "xml", "svg", "atom"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        bytecode_cache=_BYTECODE,
    )
    env.globals.update(_=loc, t=loc.words, f=fmt, brand=brand, lang=loc.code, names=names, labels=labels)
    return env


def _phrase(loc: Locale, src: Markup, key: str, name: str, **values: object) -> Markup:
    """The message `key` as HTML, its `name` (a name the provider wrote) marked with the provider's language."""
    marked = Markup(f"<span{src}>{escape(name)}</span>") if src else escape(name)
    return escape(loc.words[key]).format(name=marked, **values)


def incident_title(loc: Locale, i: Incident) -> str:
    """An incident's title in `loc`'s language (an automatic incident's is translated), as plain text."""
    if i.subject:
        return loc("auto.title", name=i.subject, status=loc(f"status.{i.outage or 'partial_outage'}"))
    return i.name


def brand(site: SiteConfig) -> dict[str, str]:
    b = site.branding
    return {
        "name": b.name,
        "logo": f"logo{b.logo.suffix.lower()}" if b.logo else "",
        "support_url": b.support_url,
        "sla_url": b.sla_url,
    }


def static_files(site: SiteConfig) -> dict[str, bytes]:
    files = {f"static/{p.name}": p.read_bytes() for p in sorted(STATIC.iterdir()) if p.is_file()}
    b = site.branding
    files["static/brand.css"] = (
        f":root{{--accent:{b.accent}}}\n@media (prefers-color-scheme: dark){{:root{{--accent:{b.accent_dark}}}}}\n"
    ).encode()
    if b.logo is not None:
        try:
            logo = b.logo.read_bytes()
        except OSError as exc:
            raise SiteError(f"site.branding.logo: cannot read {b.logo}: {exc.strerror}") from None
        if b.logo.suffix.lower() == ".svg":
            try:
                logo = sanitise_svg(logo)  # served from the site's origin: no script may ride along
            except SvgError as exc:
                raise SiteError(f"site.branding.logo: {b.logo}: {exc}") from None
        files[f"static/logo{b.logo.suffix.lower()}"] = logo
    return files
