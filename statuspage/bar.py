"""The 90-day bar: one compact, accessible list item per day, rendered once per distinct day cell.

A cell is `<li class="mo"><span>March 7, 2026: Outage: 1 h 15 min. Incidents: …</span></li>`. Its class gives it
a height and a fill pattern per status (never colour alone; an operational day has no class), and its text is
what a screen reader reads and what CSS shows as a tooltip on hover or focus. A day with incidents links to the
incident (or to that day in the history). Most cells are equal across hundreds of components (the same quiet
day), so a cell is built once per distinct DayCell, for every language at once, from escaped parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from markupsafe import escape

from agent.core.model import Status
from statuspage.fmt import Fmt
from statuspage.i18n import Locale
from statuspage.model import DayCell

CELL_CLASS: dict[Status | None, str] = {
    Status.OPERATIONAL: "",
    Status.DEGRADED_PERFORMANCE: "dg",
    Status.PARTIAL_OUTAGE: "po",
    Status.MAJOR_OUTAGE: "mo",
    Status.UNDER_MAINTENANCE: "um",
    None: "nd",
}
"""The CSS class of a day cell per worst status of the day (style.css gives each a height and a pattern)."""

CACHE_LIMIT = 50_000


class CellText:
    """One language's words for day cells, with the dates and durations it has already formatted."""

    def __init__(self, loc: Locale, fmt: Fmt) -> None:
        self.loc, self.fmt = loc, fmt
        self._dates: dict[date, str] = {}
        self._no_downtime = loc("ui.no_downtime") + "."
        self._nodata = loc("status.nodata") + "."

    def text(self, cell: DayCell, titles: Mapping[str, str]) -> str:
        """The cell's words as plain text: its date, then its outage, degraded, maintenance and missing time,
        then its incidents (by their title in this language when `titles` has one: automatic ones)."""
        day = self._dates.get(cell.day)
        if day is None:
            day = self._dates.setdefault(cell.day, self.fmt.date(cell.day))
        loc, dur = self.loc, self.fmt.minutes
        if cell.status is None:
            parts = [self._nodata]
        else:
            parts = []
            if cell.down_minutes:
                parts.append(loc("ui.down_for", d=dur(cell.down_minutes)) + ".")
            if cell.degraded_minutes:
                parts.append(loc("ui.degraded_for", d=dur(cell.degraded_minutes)) + ".")
            if cell.maintenance_minutes:
                parts.append(loc("ui.maintenance_for", d=dur(cell.maintenance_minutes)) + ".")
            if not parts:
                parts.append(self._no_downtime)
            if cell.nodata_minutes >= 60:
                parts.append(loc("ui.nodata_for", d=dur(cell.nodata_minutes)) + ".")
        if cell.incidents:
            names = "; ".join(titles.get(i, name) for i, name in cell.incidents)
            parts.append(loc("ui.incidents_count", names=names))
        return loc("ui.cell", date=day, text=" ".join(parts))


class Bars:
    """Day cells in every language, kept by DayCell (bounded), joined into one bar per component."""

    def __init__(self, texts: Sequence[CellText]) -> None:
        self._texts = tuple(texts)
        self._cells: dict[DayCell, tuple[str, ...]] = {}
        self.titles: tuple[Mapping[str, str], ...] = tuple({} for _ in self._texts)
        """Per language, incident id -> its title there (the renderer sets it; cells hold the source title)."""
        self.made = 0
        """Distinct cells rendered so far (a measure of the work a render did)."""

    def bar(self, days: Sequence[DayCell]) -> tuple[str, ...]:
        """The `<li>` items of one component's bar, one string per language (already escaped)."""
        cache = self._cells
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        per_day = []
        for cell in days:
            html = cache.get(cell)
            if html is None:
                html = cache[cell] = self._cell(cell)
            per_day.append(html)
        return tuple("".join(items) for items in zip(*per_day, strict=True)) if per_day else ("",) * len(self._texts)

    def _cell(self, cell: DayCell) -> tuple[str, ...]:
        self.made += 1
        cls = CELL_CLASS[cell.status]
        head = f'<li class="{cls}">' if cls else "<li>"
        link = ""
        if len(cell.incidents) == 1:
            link = f"incidents/{cell.incidents[0][0]}.html"
        elif cell.incidents:
            link = f"history-{cell.day:%Y-%m}.html#d-{cell.day.isoformat()}"
        out = []
        for t, titles in zip(self._texts, self.titles, strict=True):
            span = f"<span>{escape(t.text(cell, titles))}</span>"
            out.append(f'{head}<a href="{escape(link)}">{span}</a></li>' if link else f"{head}{span}</li>")
        return tuple(out)
