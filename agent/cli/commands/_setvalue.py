"""`--set KEY=VALUE`: each value read as the type its key declares, so a string key takes the literal text."""

from __future__ import annotations

import types
from pathlib import PurePath
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr

_TEXT = (str, SecretStr, PurePath)


def _unwrap(annotation: Any) -> list[Any]:
    """The alternatives of a type: Annotated and Optional removed, Unions flattened."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [alt for arg in get_args(annotation) for alt in _unwrap(arg) if alt is not type(None)]
    return [annotation]


def declared_type(model: type[BaseModel], path: list[str]) -> Any:
    """The annotation of the dotted key `path` in `model` (by field name or alias); None when unknown."""
    annotation: Any = model
    for part in path:
        models = [alt for alt in _unwrap(annotation) if isinstance(alt, type) and issubclass(alt, BaseModel)]
        if len(models) != 1:
            return None
        fields = models[0].model_fields
        field = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
        if field is None:
            return None
        annotation = field.annotation
    return annotation


def is_text(annotation: Any) -> bool:
    """True when every alternative of the type is text (str, a secret, a path, a Literal of strings)."""
    alternatives = _unwrap(annotation)
    if not alternatives:
        return False
    for alt in alternatives:
        if get_origin(alt) is Literal:
            if not all(isinstance(v, str) for v in get_args(alt)):
                return False
        elif not (isinstance(alt, type) and issubclass(alt, _TEXT)):
            return False
    return True


def coerce(model: type[BaseModel], path: list[str], raw: str, parse: Any) -> Any:
    """The value of `--set path=raw`: the literal text for a text key, else `parse(raw)` (a YAML scalar or
    list); text that does not parse stays text, and validation then names the key."""
    if not raw:
        return ""
    if is_text(declared_type(model, path)):
        return raw
    try:
        return parse(raw)
    except Exception:
        return raw
