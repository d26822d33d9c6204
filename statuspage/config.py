"""The `site:` block of the config: where the status page is written and served, and how it is branded."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from agent.core.config_base import ConfigModel, Duration, Identifier, config_relative

Language = Literal["en", "fr"]

_COLOUR = r"^#[0-9a-fA-F]{6}$"
_URL = re.compile(r"^(https?://[^\s<>\"']+|/[^\s<>\"']*)?$")


def _check_url(value: str) -> str:
    # Only http(s) or site-relative links: a `javascript:` URL in config must never reach a page.
    if not _URL.match(value):
        raise ValueError("must be an http:// or https:// URL (or a path starting with /)")
    return value


def _both_languages() -> list[Language]:
    return ["en", "fr"]


class BrandingConfig(ConfigModel):
    """Name, logo, colours and links shown on every page."""

    name: str = Field(default="Dialtone status", min_length=1, max_length=120)
    logo: Path | None = Field(default=None, description="a PNG, SVG or WebP copied into the site")
    accent: str = Field(default="#1f5fbf", pattern=_COLOUR, description="links and the header rule")
    accent_dark: str = Field(default="#8ab4f8", pattern=_COLOUR, description="accent in the dark theme")
    support_url: str = ""
    sla_url: str = ""

    @field_validator("support_url", "sla_url")
    @classmethod
    def _urls(cls, v: str) -> str:
        return _check_url(v)

    @field_validator("logo")
    @classmethod
    def _logo(cls, v: Path | None) -> Path | None:
        if v is not None and v.suffix.lower() not in (".png", ".svg", ".webp"):
            raise ValueError("the logo must be a .png, .svg or .webp file")
        return None if v is None else config_relative(v)


class SiteConfig(ConfigModel):
    """The public status page: output folder, address, languages, branding and incidents folder."""

    out: Path = Path("site")
    listen: str = Field(default="127.0.0.1:8080", pattern=r"^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$")
    render_interval: Duration = 60.0
    live_refresh: Duration = Field(
        default=30.0, description="seconds between the page's reads of api/v2/status.json (0: no live refresh)"
    )
    subscribe_url: str = Field(
        default="", description="where the footer's 'subscribe' link points, e.g. notify/subscribe (empty: no link)"
    )
    page_id: Identifier = "dialtone"
    languages: list[Language] = Field(default_factory=_both_languages, min_length=1)
    default_language: Language = "en"
    base_url: str = Field(default="", description="public address, e.g. https://status.example.com/")
    time_zone: str = "America/Denver"
    incidents: Path = Path("config/incidents")
    branding: BrandingConfig = BrandingConfig()

    @field_validator("render_interval")
    @classmethod
    def _interval(cls, v: float) -> float:
        if v < 1:
            raise ValueError("render_interval must be at least 1s")
        return v

    @field_validator("out", "incidents")
    @classmethod
    def _paths(cls, v: Path) -> Path:
        return config_relative(v)

    @field_validator("base_url")
    @classmethod
    def _base(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        _check_url(v)
        return v if not v or v.endswith("/") else v + "/"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as America/Denver)") from None
        return v

    @field_validator("live_refresh")
    @classmethod
    def _refresh(cls, v: float) -> float:
        if v != 0 and v < 5:
            raise ValueError("live_refresh must be 0 (off) or at least 5s")
        return v

    @field_validator("subscribe_url")
    @classmethod
    def _subscribe(cls, v: str) -> str:
        if any(c in v for c in "\"'<> \t\r\n") or v.lower().startswith(("javascript:", "data:")):
            raise ValueError("subscribe_url must be a plain relative path or an http(s) address")
        return v

    @model_validator(mode="after")
    def _languages(self) -> SiteConfig:
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages: each language may appear once")
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not one of languages")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The page's display time zone."""
        return ZoneInfo(self.time_zone)
