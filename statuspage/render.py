"""StatusModel -> every file of the site (HTML in each language, JSON, Atom, ICS, badges, static assets).

Rendering is pure (model in, bytes out) and incremental by construction: every fragment (a component's row,
an incident's page and card, a day of the history, a page, a JSON object, a feed entry) is kept with the
inputs it was made from and reused while they compare equal (`statuspage.fragments`). A re-render after one
transition therefore renders that component's row, the incidents it touched, the days and pages that hold
them, and the pages that show the time of the render; everything else is reused, byte for byte, and
`statuspage.output` leaves those files alone.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from markupsafe import Markup, escape

from agent.maintenance.calendar import MaintenanceCalendar, build_ics
from statuspage import feeds
from statuspage.archive import Month, months
from statuspage.bar import Bars, CellText
from statuspage.config import SiteConfig
from statuspage.days import group_days
from statuspage.fragments import Fragments
from statuspage.langs import STATIC, TEMPLATES, Lang, SiteError, brand, incident_title, static_files
from statuspage.model import ComponentView, GroupView, Incident, StatusModel
from statuspage.record import history_pages, maintenance_page, occurrence_files

__all__ = ["STATIC", "TEMPLATES", "Alternate", "Renderer", "SiteError", "incident_title", "utc_now"]

PAST_INCIDENTS = timedelta(days=7)
"""The index shows incidents resolved this recently; the history pages keep all of them."""
STALE_RENDERS = 3
"""The page warns its reader once it is older than this many render intervals (the renderer has stopped)."""

Bundle = dict[Any, Any]
"""One incident's or component's fragments (page, card, row, badge, in every language), kept together while
what they are made from is unchanged: for an incident, itself and the names of its components."""

_COMPONENTS = Markup("<@components@>")
"""Where the index's component groups go. Autoescaped text cannot hold `<`, so only this Markup can match."""


@dataclass(frozen=True, slots=True)
class Alternate:
    """The same page in another language."""

    lang: str
    href: str
    name: str
    tag: str
    """Its BCP 47 tag (fr-CA), for hreflang and lang."""


class Renderer:
    """Renders a StatusModel into the site's files; thread-safe, one render at a time."""

    def __init__(self, site: SiteConfig, *, calendar: MaintenanceCalendar | None = None) -> None:
        self.site = site
        self._calendar = calendar
        self._lock = threading.Lock()
        self._frags = Fragments()
        self._group_bars: dict[str, tuple[str, ...]] = {}
        self._static = static_files(site)
        identity = brand(site)
        self._langs = {lang: Lang.make(site, lang, identity) for lang in site.languages}
        self._bars = Bars([CellText(lg.loc, lg.fmt) for lg in self._langs.values()])

    @property
    def made(self) -> int:
        """Fragments (rows, pages, cards, JSON objects, ...) the last render had to build rather than reuse."""
        return self._frags.last_made

    def files(self, model: StatusModel) -> dict[str, bytes]:
        """Every file of the site, by path relative to the site root."""
        with self._lock:
            try:
                out = self._files(model)
            except BaseException:
                self._frags.abort()
                raise
            self._frags.cycle()
            return out

    def _files(self, model: StatusModel) -> dict[str, bytes]:
        comps = model.components
        names = {c.id: c.name for c in comps}
        bundles = {
            i.id: self._frags.bundle(("incident", i.id), (i, tuple(names.get(c, c) for c in i.components)))
            for i in model.incidents
        }
        out: dict[str, bytes] = dict(self._static)
        self._group_bars.clear()
        # An automatic incident's title is translated (its name is the English one): bar cells name it so.
        auto = [i for i in model.incidents if i.subject]
        self._bars.titles = tuple({i.id: incident_title(lg.loc, i) for i in auto} for lg in self._langs.values())
        rows = self._components(comps, out)
        record = months(model)
        for lg, lang_rows in zip(self._langs.values(), rows, strict=True):
            if lg.names != names:
                lg.names.clear()
                lg.names.update(names)
            for path, text in self._pages(lg, model, lang_rows, record, bundles).items():
                out[lg.prefix + path] = text
        out.update(occurrence_files(self._frags, self._langs[self.site.default_language].loc, model, names))
        out.update(feeds.json_files(model, self._frags.get))
        out["maintenance.ics"] = self._ics(model)
        return out

    def _ics(self, model: StatusModel) -> bytes:
        if self._calendar is None:
            return feeds.ics(model).encode()
        name = f"{self.site.branding.name} maintenance"
        names = {c.id: c.name for c in model.components}
        url = f"{self.site.base_url}maintenance.html" if self.site.base_url else ""
        return build_ics(
            self._calendar, now=model.generated_at, name=name, uid_domain=feeds.uid_domain(model), names=names, url=url
        )

    # --- fragments ----------------------------------------------------------------------------------------

    def _components(self, comps: Sequence[ComponentView], out: dict[str, bytes]) -> list[dict[str, Markup]]:
        """Each component's row (status, 90-day bar, uptime) in every language, and its badge into `out`;
        a component equal to last render's is not rendered again."""
        per_lang: list[dict[str, Markup]] = [{} for _ in self._langs]
        main = self._langs[self.site.default_language]
        for c in comps:
            kept = self._frags.bundle(("component", c.id), c)
            rows = self._frags.made_in(kept, "rows", partial(self._row, c))
            for lang_rows, row in zip(per_lang, rows, strict=True):
                lang_rows[c.id] = row
            out[f"badge/{c.id}.svg"] = self._frags.made_in(kept, "badge", partial(feeds.badge, main.env, main.loc, c))
        return per_lang

    def _row(self, c: ComponentView) -> tuple[Markup, ...]:
        bars = self._bars.bar(c.days)
        return tuple(
            Markup(lg.parts.component_row(c, Markup(bar))) for lg, bar in zip(self._langs.values(), bars, strict=True)
        )

    def _card(self, lg: Lang, inc: Incident, kept: Bundle) -> Markup:
        """An incident's short card (history and past incidents), linking to its page."""

        def make() -> Markup:
            return Markup(lg.parts.incident_card(inc, incident_title(lg.loc, inc), ""))

        return self._frags.made_in(kept, ("card", lg.code), make)

    def _days(self, lg: Lang, days: Sequence[tuple[date, list[Incident]]], bundles: dict[str, Bundle]) -> list[Markup]:
        """One block per day with its incidents' cards; a day whose cards did not change is reused."""
        tpl = lg.env.get_template("day.html")

        def block(day: date, cards: tuple[Markup, ...]) -> Markup:
            return Markup(tpl.render(day=day, cards=cards))

        blocks = []
        for day, items in days:
            cards = tuple(self._card(lg, i, bundles[i.id]) for i in items)
            blocks.append(self._frags.get(("day", lg.code, day), cards, partial(block, day, cards)))
        return blocks

    # --- pages --------------------------------------------------------------------------------------------

    def _page(self, lg: Lang, name: str, path: str, **ctx: Any) -> bytes:
        return self._html(lg, name, path, **ctx).encode()

    def _html(self, lg: Lang, name: str, path: str, **ctx: Any) -> str:
        root = "../" * path.count("/")
        top = root + ("../" if lg.prefix else "")
        alternates = [
            Alternate(o.code, top + o.prefix + path, o.loc("lang.name"), o.loc.tag) for o in self._langs.values()
        ]
        return lg.env.get_template(name).render(root=root, top=top, alternates=alternates, **ctx)

    def _pages(
        self,
        lg: Lang,
        model: StatusModel,
        rows: dict[str, Markup],
        record: list[Month],
        bundles: dict[str, Bundle],
    ) -> dict[str, bytes]:
        pages = {
            "index.html": self._index(lg, model, rows, bundles),
            "maintenance.html": maintenance_page(self._frags, lg, model, self._page),
        }
        cards = {i.id: partial(self._card, lg, i, bundles[i.id]) for i in model.incidents}
        pages.update(history_pages(self._frags, lg, model, record, cards, self._page))
        pages.update(self._sla_pages(lg, model))
        for inc in model.incidents:
            path = f"incidents/{inc.id}.html"
            pages[path] = self._frags.made_in(bundles[inc.id], ("page", lg.code), partial(self._wrapped, lg, path, inc))
            for old in inc.linked:
                path = f"incidents/{old}.html"
                target = f"{inc.id}.html"
                pages[path] = self._frags.get(
                    (path, lg.code), target, partial(self._page, lg, "redirect.html", path, target=target)
                )
        pages["history.atom"] = feeds.atom(lg.env, lg.loc, model, self.site.base_url + lg.prefix, self._frags.get)
        return pages

    def _wrapped(self, lg: Lang, path: str, inc: Incident) -> bytes:
        """A page from the cached layout of its depth plus its own body: a thousand incident pages share one
        rendering of the header, footer and icon sprite."""
        depth = path.count("/")
        shell = self._frags.get(("shell", lg.code, depth), None, partial(self._shell, lg, path))
        title = incident_title(lg.loc, inc)
        main = str(lg.parts.incident_page(inc, title, "../" * depth))
        text = shell.replace("@@PATH@@", str(escape(path))).replace("@@TITLE@@", str(escape(title)), 1)
        return text.replace("@@MAIN@@", main, 1).encode()

    def _shell(self, lg: Lang, path: str) -> str:
        depth_path = "/".join(["@@DIR@@"] * path.count("/") + ["@@PATH@@"])
        html = self._page(lg, "shell.html", depth_path).decode()
        # Alternate-language links hold the page's own path: put one placeholder where the path goes.
        return html.replace(depth_path, "@@PATH@@")

    def _index(self, lg: Lang, model: StatusModel, rows: dict[str, Markup], bundles: dict[str, Bundle]) -> bytes:
        in_progress = model.maintenances_in("in_progress", "verifying")
        upcoming = sorted(model.maintenances_in("scheduled"), key=lambda mt: mt.scheduled_for)
        indicator = model.indicator
        banner: str = "maintenance" if indicator == "none" and in_progress else indicator
        if banner == "none" and not any(c.known for c in model.components):
            banner = "nodata"  # nothing probed yet (or monitoring stopped): never "All systems operational"
        since = model.generated_at - PAST_INCIDENTS
        past = [i for i in model.incidents if i.resolved and (i.resolved_at or i.updated_at) >= since]
        stale = STALE_RENDERS * self.site.render_interval
        html = self._html(
            lg,
            "index.html",
            "index.html",
            m=model,
            components=_COMPONENTS,
            banner=banner,
            banner_status=_BANNER_ICON[banner],
            active=model.active_incidents,
            maintenances=[*in_progress, *upcoming],
            past=[self._card(lg, i, bundles[i.id]) for i in past],
            stale_after=model.generated_at + timedelta(seconds=stale),
            stale_minutes=max(1, round(stale / 60)),
        )
        # The page changes at every render (its time, banner, active incidents), its 45,000 day cells do not:
        # only the groups whose rows changed are joined and encoded again.
        head, tail = html.split(_COMPONENTS, 1)
        return b"".join([head.encode(), *self._groups(lg, model, rows), tail.encode()])

    def _groups(self, lg: Lang, model: StatusModel, rows: dict[str, Markup]) -> list[bytes]:
        index = [lang.code for lang in self._langs.values()].index(lg.code)

        def make(g: GroupView, members: tuple[Markup, ...]) -> bytes:
            # A group's summary bar in every language at once, kept for the other languages of this render.
            bars = self._group_bars.get(g.id)
            if bars is None and g.name:
                bars = self._group_bars[g.id] = self._bars.bar(group_days(g))
            cells = Markup(bars[index]) if bars else Markup("")
            return str(lg.parts.group(g, Markup("".join(members)), cells)).encode()

        out = []
        for g in model.groups:
            members = tuple(rows[c.id] for c in g.components)
            name, inputs = ("group", lg.code, g.id), (g.name, g.status, members)
            out.append(self._frags.get(name, inputs, partial(make, g, members)))
        return out

    def _sla_pages(self, lg: Lang, model: StatusModel) -> dict[str, bytes]:
        months = model.sla_months
        listed = tuple(mo.month for mo in months)
        pages: dict[str, bytes] = {}
        shown = [("sla.html", months[0] if months else None)] + [(f"sla/{x.month:%Y-%m}.html", x) for x in months]
        for path, mo in shown:
            pages[path] = self._frags.get(
                (path, lg.code), (listed, mo), partial(self._page, lg, "sla.html", path, months=months, month=mo)
            )
        return pages


_BANNER_ICON = {
    "none": "operational",
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
    "maintenance": "under_maintenance",
    "nodata": "nodata",
}


def utc_now() -> datetime:
    """Aware UTC now (the CLI's default `now`)."""
    return datetime.now(UTC)
