"""The record's pages: the history by month, the maintenance page, and one .ics per maintenance window.

Each is a fragment of the renderer's cache (statuspage.fragments), rebuilt only when what it shows changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from functools import partial
from typing import Any, Protocol

from markupsafe import Markup

from statuspage.archive import Month, occurrence_ics
from statuspage.fragments import Fragments
from statuspage.i18n import Locale
from statuspage.langs import Lang
from statuspage.model import Maintenance, StatusModel

RECENT_MAINTENANCE = timedelta(days=14)
"""Completed windows the maintenance page lists; older ones are in the monthly history."""


class PageMaker(Protocol):
    """The renderer's page function: a template rendered at `path` with its context, encoded."""

    def __call__(self, lg: Lang, name: str, path: str, **ctx: Any) -> bytes: ...


def history_pages(
    frags: Fragments,
    lg: Lang,
    model: StatusModel,
    record: list[Month],
    cards: Mapping[str, Callable[[], Markup]],
    page: PageMaker,
) -> dict[str, bytes]:
    """One page per month of the record (history.html is the newest too), its days' blocks reused."""
    tpl = lg.env.get_template("day.html")
    top = "../" if lg.prefix else ""
    paths = tuple(mo.path for mo in record)
    out: dict[str, bytes] = {}
    for month in record:
        blocks = []
        for d in month.days:
            made = tuple(cards[i.id]() for i in d.incidents)
            names = tuple(lg.names.get(c, c) for mt in d.maintenances for c in mt.components)
            make = partial(_day_block, tpl, model, d.day, made, d.maintenances, top)
            blocks.append(frags.get(("day", lg.code, d.day), (made, d.maintenances, names), make))
        for path in [month.path] + (["history.html"] if month is record[0] else []):
            out[path] = frags.get(
                (path, lg.code),
                (month.month, tuple(blocks), paths),
                partial(page, lg, "history.html", path, month=month, blocks=blocks, record=record),
            )
    return out


def _day_block(
    tpl: Any, model: StatusModel, day: date, cards: tuple[Markup, ...], mts: tuple[Maintenance, ...], top: str
) -> Markup:
    return Markup(tpl.render(day=day, cards=cards, maintenances=mts, m=model, top=top, root=""))


def maintenance_page(frags: Fragments, lg: Lang, model: StatusModel, page: PageMaker) -> bytes:
    """In progress, upcoming by start, then the last two weeks' (older windows are in the history)."""
    since = model.generated_at - RECENT_MAINTENANCE
    now = model.maintenances_in("in_progress", "verifying")
    ahead = tuple(sorted(model.maintenances_in("scheduled"), key=lambda mt: mt.scheduled_for))
    done = tuple(mt for mt in reversed(model.maintenances_in("completed")) if mt.scheduled_until >= since)
    mts = (*now, *ahead, *done)
    # The cards say whether each notice is out yet and name components: those are the page's inputs.
    inputs = (
        mts,
        tuple(mt.notice_at <= model.generated_at for mt in mts),
        tuple(lg.names.get(c, c) for mt in mts for c in mt.components),
    )
    make = partial(
        page, lg, "maintenance.html", "maintenance.html", m=model, in_progress=now, scheduled=ahead, completed=done
    )
    return frags.get(("maintenance.html", lg.code), inputs, make)


def occurrence_files(frags: Fragments, loc: Locale, model: StatusModel, names: Mapping[str, str]) -> dict[str, bytes]:
    """maintenance/<id>.ics: each window on its own, for the cards' "add to calendar" links."""
    out = {}
    for mt in model.maintenances:
        affected = tuple(names.get(c, c) for c in mt.components) or (loc("ui.all_components"),)
        text = loc("label.affects") if mt.counted else loc("ui.not_counted") + " " + loc("label.affects")
        inputs = (mt.scheduled_for, mt.scheduled_until, mt.name, mt.created_at, mt.counted, affected, text)
        out[f"maintenance/{mt.id}.ics"] = frags.get(
            ("ics", mt.id), inputs, partial(occurrence_ics, model, mt, affected, text)
        )
    return out
