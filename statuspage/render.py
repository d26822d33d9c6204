"""StatusModel -> every file of the site (HTML in each language, JSON, Atom, ICS, badges, static assets).

Rendering is pure (model in, bytes out) and memoised: a fragment whose inputs compare equal to last time's
(a day cell, a component row, an incident page) is reused, so a re-render after one transition only renders
what changed. `statuspage.output` writes the files atomically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from agent.calendar import MaintenanceCalendar, build_ics
from statuspage import feeds
from statuspage.config import SiteConfig
from statuspage.fmt import Fmt
from statuspage.i18n import Locale
from statuspage.model import ComponentView, DayCell, Incident, StatusModel

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
INDEX_PAST_DAYS = 7

T = TypeVar("T")


class SiteError(Exception):
    """The site cannot be rendered as configured (e.g. an unreadable logo); names the file and the reason."""


@dataclass(frozen=True, slots=True)
class _Lang:
    """One language's template environment and formatters."""

    code: str
    env: jinja2.Environment
    loc: Locale
    fmt: Fmt
    prefix: str

    @property
    def labels(self) -> dict[str, str]:
        """Fixed words of every component row, translated once."""
        t = self.loc
        return {"ago90": t("ui.days_ago", n=90), "ago30": t("ui.days_ago", n=30), "today": t("ui.today"),
                "up30": t("ui.uptime_30"), "up90": t("ui.uptime_90")}


@dataclass(frozen=True, slots=True)
class Alternate:
    """The same page in another language."""

    lang: str
    href: str
    name: str


def _environment(loc: Locale, fmt: Fmt, brand: Mapping[str, str]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "xml", "svg", "atom"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.update(_=loc, f=fmt, brand=brand, lang=loc.code, names={})
    return env


class Renderer:
    """Renders a StatusModel into the site's files; thread-safe, one render at a time."""

    def __init__(self, site: SiteConfig, *, calendar: MaintenanceCalendar | None = None) -> None:
        self.site = site
        self._calendar = calendar
        self._lock = threading.Lock()
        self._memo: dict[Hashable, Any] = {}
        self._next: dict[Hashable, Any] = {}
        self._static = _static_files(site)
        brand = _brand(site)
        self._langs: dict[str, _Lang] = {}
        for lang in site.languages:
            loc = Locale(lang)
            fmt = Fmt(loc, site.zone)
            prefix = "" if lang == site.default_language else f"{lang}/"
            self._langs[lang] = _Lang(lang, _environment(loc, fmt, brand), loc, fmt, prefix)

    def files(self, model: StatusModel) -> dict[str, bytes]:
        """Every file of the site, by path relative to the site root."""
        with self._lock:
            self._next = {}
            try:
                return self._files(model)
            finally:
                self._memo = self._next

    def _files(self, model: StatusModel) -> dict[str, bytes]:
        names = {c.id: c.name for c in model.components}
        out: dict[str, bytes] = dict(self._static)
        for lg in self._langs.values():
            lg.env.globals["names"] = names
            for path, text in self._pages(lg, model, names).items():
                out[lg.prefix + path] = text
        main = self._langs[self.site.default_language]
        out.update(feeds.json_files(model))
        for c in model.components:
            out[f"badge/{c.id}.svg"] = self._badge(main, c)
        out["maintenance.ics"] = self._ics(model)
        return out

    def _memoise(self, key: Hashable, make: Callable[[], T]) -> T:
        # This render's fragments first (a day cell repeats across components), then the last render's.
        if key in self._next:
            hit: T = self._next[key]
            return hit
        value: T = self._memo[key] if key in self._memo else make()
        self._next[key] = value
        return value

    def _ics(self, model: StatusModel) -> bytes:
        if self._calendar is None:
            return feeds.ics(model).encode()
        name = f"{self.site.branding.name} maintenance"
        return build_ics(self._calendar, now=model.generated_at, name=name)

    def _badge(self, lg: _Lang, c: ComponentView) -> bytes:
        return self._memoise(("badge", c.name, c.status), lambda: feeds.badge(lg.env, lg.loc, c))

    # --- pages --------------------------------------------------------------------------------------------

    def _page(self, lg: _Lang, name: str, path: str, **ctx: Any) -> bytes:
        root = "../" * path.count("/")
        top = root + ("../" if lg.prefix else "")
        alternates = [Alternate(o.code, top + o.prefix + path, o.loc("lang.name")) for o in self._langs.values()]
        html = lg.env.get_template(name).render(root=root, top=top, alternates=alternates, **ctx)
        return html.encode()

    def _pages(self, lg: _Lang, model: StatusModel, names: dict[str, str]) -> dict[str, bytes]:
        days = _incidents_by_day(model)
        pages = {
            "index.html": self._index(lg, model, days),
            "history.html": self._page(
                lg, "history.html", "history.html", m=model, day_blocks=self._days(lg, days),
                any_incident=bool(model.incidents),
            ),
            "maintenance.html": self._page(
                lg,
                "maintenance.html",
                "maintenance.html",
                m=model,
                in_progress=model.maintenances_in("in_progress", "verifying"),
                scheduled=model.maintenances_in("scheduled"),
                completed=model.maintenances_in("completed"),
            ),
        }
        pages.update(self._sla_pages(lg, model))
        for inc in model.incidents:
            pages[f"incidents/{inc.id}.html"] = self._incident(lg, model, inc, names)
            for old in inc.linked:
                path = f"incidents/{old}.html"
                pages[path] = self._page(lg, "redirect.html", path, target=f"{inc.id}.html")
        pages["history.atom"] = feeds.atom(lg.env, lg.loc, model, self.site.base_url + lg.prefix)
        return pages

    def _incident(self, lg: _Lang, model: StatusModel, inc: Incident, names: dict[str, str]) -> bytes:
        key = ("incident", lg.code, inc, tuple(names.get(c, c) for c in inc.components))
        path = f"incidents/{inc.id}.html"
        return self._memoise(key, lambda: self._wrapped(lg, path, "incident_main.html", inc))

    def _wrapped(self, lg: _Lang, path: str, body: str, inc: Incident) -> bytes:
        """A page from the cached layout of its depth plus its own body: a thousand incident pages share one
        rendering of the header, footer and icon sprite."""
        shell = self._memoise(("shell", lg.code, path.count("/")), lambda: self._shell(lg, path))
        root = "../" * path.count("/")
        title = lg.env.get_template("macros.html").module.incident_title(inc)  # type: ignore[attr-defined]
        main = lg.env.get_template(body).render(root=root, i=inc, title=title)
        text = shell.replace("@@PATH@@", str(escape(path))).replace("@@TITLE@@", str(title), 1)
        return text.replace("@@MAIN@@", main, 1).encode()

    def _shell(self, lg: _Lang, path: str) -> str:
        depth_path = "/".join(["@@DIR@@"] * path.count("/") + ["@@PATH@@"])
        html = self._page(lg, "shell.html", depth_path).decode()
        # Alternate-language links hold the page's own path: put one placeholder where the path goes.
        return html.replace("/".join(["@@DIR@@"] * path.count("/") + ["@@PATH@@"]), "@@PATH@@")

    def _index(self, lg: _Lang, model: StatusModel, days: list[tuple[date, list[Incident]]]) -> bytes:
        rows = {c.id: self._component(lg, c) for c in model.components}
        in_progress = model.maintenances_in("in_progress", "verifying")
        upcoming = model.maintenances_in("scheduled")
        standard = next((mt for mt in upcoming if mt.standard), None)
        banner = "maintenance" if model.indicator == "none" and in_progress else model.indicator
        return self._page(
            lg,
            "index.html",
            "index.html",
            m=model,
            rows=rows,
            banner=banner,
            banner_status=_BANNER_ICON[banner],
            active=model.active_incidents,
            in_progress=in_progress,
            standard=standard,
            upcoming=[mt for mt in upcoming if mt is not standard],
            day_blocks=self._days(lg, days[:INDEX_PAST_DAYS]),
        )

    def _days(self, lg: _Lang, days: list[tuple[date, list[Incident]]]) -> list[Markup]:
        """One block per day with its incidents; a day whose incidents did not change is reused."""
        tpl = lg.env.get_template("day.html")
        names: dict[str, str] = lg.env.globals["names"]  # type: ignore[assignment]

        def block(day: date, items: list[Incident]) -> Markup:
            return self._memoise(
                ("day", lg.code, day, tuple(items), tuple(names.get(c, c) for i in items for c in i.components)),
                lambda: Markup(tpl.render(root="", day=day, items=items)),
            )

        return [block(d, items) for d, items in days]

    def _component(self, lg: _Lang, c: ComponentView) -> Markup:
        def make() -> Markup:
            # Cells are Markup already: join them as plain strings and mark the result once.
            cells = Markup("".join([self._cell(lg, cell) for cell in c.days]))
            return Markup(lg.env.get_template("component.html").render(c=c, cells=cells, **lg.labels))

        return self._memoise(("component", lg.code, c), make)

    def _cell(self, lg: _Lang, cell: DayCell) -> Markup:
        def make() -> Markup:
            link = ""
            if len(cell.incidents) == 1:
                link = f"incidents/{cell.incidents[0][0]}.html"
            elif cell.incidents:
                link = f"history.html#d-{cell.day.isoformat()}"
            return Markup(lg.env.get_template("cell.html").render(cell=cell, link=link).strip())

        return self._memoise(("cell", lg.code, cell), make)

    def _sla_pages(self, lg: _Lang, model: StatusModel) -> dict[str, bytes]:
        months = model.sla_months
        latest = months[0] if months else None
        pages = {"sla.html": self._page(lg, "sla.html", "sla.html", m=model, months=months, month=latest)}
        for mo in months:
            path = f"sla/{mo.month:%Y-%m}.html"
            pages[path] = self._page(lg, "sla.html", path, m=model, months=months, month=mo)
        return pages


_BANNER_ICON = {
    "none": "operational",
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
    "maintenance": "under_maintenance",
}


def _incidents_by_day(model: StatusModel) -> list[tuple[date, list[Incident]]]:
    """The history window's days, newest first, each with the incidents active on that local day."""
    zone = ZoneInfo(model.time_zone)
    by_day: dict[date, list[Incident]] = {d: [] for d in model.days}
    first = model.days[0] if model.days else None
    for inc in model.incidents:
        start = inc.started_at.astimezone(zone).date()
        end = (inc.resolved_at or model.generated_at).astimezone(zone).date()
        day = max(start, first) if first else start
        while day <= end:
            if day in by_day:
                by_day[day].append(inc)
            day += timedelta(days=1)
    return [(d, by_day[d]) for d in reversed(model.days)]


def _brand(site: SiteConfig) -> dict[str, str]:
    b = site.branding
    return {
        "name": b.name,
        "logo": f"logo{b.logo.suffix.lower()}" if b.logo else "",
        "support_url": b.support_url,
        "sla_url": b.sla_url,
    }


def _static_files(site: SiteConfig) -> dict[str, bytes]:
    files = {f"static/{p.name}": p.read_bytes() for p in sorted(STATIC.iterdir()) if p.is_file()}
    b = site.branding
    files["static/brand.css"] = (
        f":root{{--accent:{b.accent}}}\n@media (prefers-color-scheme: dark){{:root{{--accent:{b.accent_dark}}}}}\n"
    ).encode()
    if b.logo is not None:
        try:
            files[f"static/logo{b.logo.suffix.lower()}"] = b.logo.read_bytes()
        except OSError as exc:
            raise SiteError(f"site.branding.logo: cannot read {b.logo}: {exc.strerror}") from None
    return files


def utc_now() -> datetime:
    """Aware UTC now (the CLI's default `now`)."""
    return datetime.now(UTC)
