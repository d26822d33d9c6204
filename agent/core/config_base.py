"""Config building blocks shared by agent.runtime.config and every probe's config block (no project imports).

``ConfigModel`` is frozen, rejects unknown keys and accepts ``<secret>_file`` for each ``SecretStr`` field.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

# --- load context: where *_file secrets are read from ------------------------------------------------------

_BASE_DIR: contextvars.ContextVar[Path] = contextvars.ContextVar("dialtone_config_dir", default=Path("."))


def config_relative(path: Path) -> Path:
    """`path` as a config file means it: a relative path is relative to the folder of the file being loaded."""
    return path if path.is_absolute() else _BASE_DIR.get() / path


@contextlib.contextmanager
def loading_from(folder: Path) -> Iterator[None]:
    """While loading a config file from `folder`: relative paths and `*_file` secrets resolve against it."""
    token = _BASE_DIR.set(folder)
    try:
        yield
    finally:
        _BASE_DIR.reset(token)


# --- reusable field types -----------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """'500ms' | '5s' | '2m' | '1h' | '1d' | number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as 500ms, 5s, 2m, 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError("a duration is a number of seconds or a string such as 500ms, 5s, 2m, 1h")
    if not math.isfinite(seconds):
        raise ValueError("a duration must be a finite number of seconds")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written as 500ms, 5s, 2m, 1h, 1d or a plain number."""

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]
"""Lower-case ids safe in URLs, file names, MQTT topics and metric labels."""

LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]

Codec = Literal["pcmu", "pcma"]
DEFAULT_CODECS: tuple[Codec, ...] = ("pcmu", "pcma")
"""G.711 mu-law then A-law: a far end in either law's country takes the call without transcoding."""


def codec_shorthand(data: Any) -> Any:
    """`codec: pcma` is `codecs: [pcma]`; both at once is an error (a before-validator of call configs)."""
    if isinstance(data, Mapping) and data.get("codec") is not None:
        if data.get("codecs") is not None:
            raise ValueError("give codec (one codec) or codecs (a list), not both")
        return {**data, "codecs": [data["codec"]]}
    return data


def unique_codecs(codecs: tuple[Codec, ...]) -> tuple[Codec, ...]:
    """The codec list, refused when one is listed twice (the order is the preference)."""
    for codec in codecs:
        if codecs.count(codec) > 1:
            raise ValueError(f"{codec} is listed twice")
    return codecs


class ConfigModel(BaseModel):
    """Base of every config block: frozen, unknown keys rejected, `<secret>_file` accepted."""

    # Built on first use, not at class creation: validating a Config builds every block it holds once, as
    # part of the Config's own validator, instead of one validator more per block (issue 19, start-up).
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        secret_fields = [n for n, f in cls.model_fields.items() if _is_secret(f.annotation)]
        if not secret_fields:
            return data
        out = dict(data)
        for name in secret_fields:
            key = f"{name}_file"
            if key not in out:
                continue
            if name in out:
                raise ValueError(f"give either {name} or {key}, not both")
            path = config_relative(Path(str(out.pop(key))))
            try:
                out[name] = path.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(f"{key}: cannot read {path}: {exc.strerror}") from None
        return out


def _is_secret(annotation: object) -> bool:
    if annotation is SecretStr:
        return True
    return SecretStr in getattr(annotation, "__args__", ())
