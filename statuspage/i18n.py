"""Message catalogs (statuspage/locales/*.json) and locale-aware dates, times, percentages and durations."""

from __future__ import annotations

import datetime as dt
import json
from datetime import tzinfo
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES: tuple[str, ...] = ("en", "fr")


class MissingMessage(KeyError):
    """A template asked for a message the catalog does not have."""


@cache
def catalog(lang: str, folder: Path = LOCALES_DIR) -> dict[str, Any]:
    """The parsed catalog of `lang`; unknown languages are an error naming the known ones.

    A catalog may name another as its `lang.base` and hold only the messages that differ: a France-French
    catalog (`lang.tag` fr-FR) is the Canadian one with its own terms (docs/glossary.md).
    """
    path = folder / f"{lang}.json"
    if (folder == LOCALES_DIR and lang not in LANGUAGES) or not path.exists():
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    base = data.get("lang.base")
    if isinstance(base, str):
        data = {**catalog(base, folder), **data}
    return data


class Locale:
    """Translations and formatting for one language; templates call it as `_('key', name=value)`."""

    def __init__(self, lang: str, folder: Path = LOCALES_DIR) -> None:
        self.code = lang
        self._cat = catalog(lang, folder)
        self.tag = str(self._cat.get("lang.tag", lang))
        """The BCP 47 tag of the page (`fr-CA` for the catalog `fr`): its `lang` attribute and its Intl locale."""
        self.words: dict[str, str] = {k: v for k, v in self._cat.items() if isinstance(v, str)}
        """The catalog's messages as written (what `loc(key)` returns for a key without placeholders)."""

    def __call__(self, key: str, **values: object) -> str:
        """The message `key`, formatted with `values`."""
        try:
            text = self._cat[key]
        except KeyError:
            raise MissingMessage(f"{self.code}: no message {key!r}") from None
        return str(text).format(**values) if values else str(text)

    def date(self, d: dt.date) -> str:
        """May 17, 2024 / 17 mai 2024."""
        return self("fmt.date", day=d.day, month=self._cat["months"][d.month - 1], year=d.year)

    def day(self, d: dt.date) -> str:
        """Friday, May 17, 2024 / vendredi 17 mai 2024."""
        weekday = self._cat["weekdays"][d.weekday()]
        return self("fmt.day", weekday=weekday, day=d.day, month=self._cat["months"][d.month - 1], year=d.year)

    def month(self, d: dt.date) -> str:
        """May 2024 / mai 2024."""
        return self("fmt.month", month=self._cat["months"][d.month - 1], year=d.year)

    def time(self, at: dt.datetime, zone: tzinfo) -> str:
        """22:00 MDT / 22 h 00 MDT, in `zone`."""
        local = at.astimezone(zone)
        return f"{self('fmt.time', hour=local.hour, minute=local.minute)} {local.tzname()}"

    def datetime(self, at: dt.datetime, zone: tzinfo) -> str:
        """May 17, 2024 22:00 MDT in `zone`."""
        local = at.astimezone(zone)
        return f"{self.date(local.date())} {self.time(local, zone)}"

    def number(self, value: float, digits: int) -> str:
        """A decimal number with this language's decimal mark."""
        return f"{value:.{digits}f}".replace(".", str(self._cat["fmt.decimal"]))

    def percent(self, value: float | None, digits: int = 2) -> str:
        """99.95% / 99,95 %; an em dash when there is no figure."""
        if value is None:
            return "—"
        return self("fmt.percent", n=self.number(value, digits))

    def duration(self, minutes: float) -> str:
        """65 minutes -> 1 h 5 min."""
        total = round(minutes)
        h, m = divmod(total, 60)
        return self("fmt.hours_minutes", h=h, m=m) if h else self("fmt.minutes", m=m)

    def zone(self, zone: str) -> str:
        """Mountain Time (America/Denver) / heure des Rocheuses (America/Denver); the bare id if unnamed."""
        name = self._cat.get("zones", {}).get(zone)
        return self("fmt.zone", name=name, zone=zone) if name else zone
