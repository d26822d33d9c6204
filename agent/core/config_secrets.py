"""The secret values of a config, for redaction (agent/core/redact.py) and the secret audit."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr

_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def secret_forms(model: BaseModel) -> set[str]:
    """Every secret value, and the user:password pairs in base64 as HTTP basic auth sends (and an echo shows)."""
    out = set(iter_secrets(model))
    for block in _models(model):
        user, password = getattr(block, "username", None), getattr(block, "password", None)
        if isinstance(user, str) and user and isinstance(password, SecretStr) and password.get_secret_value():
            pair = f"{user}:{password.get_secret_value()}".encode()
            out.add(base64.b64encode(pair).decode("ascii"))
        headers = getattr(block, "headers", None)
        if isinstance(headers, dict):  # a credential written as a plain header is a secret all the same
            for name, value in headers.items():
                if isinstance(value, str) and str(name).lower() in _CREDENTIAL_HEADERS:
                    out.update({value, value.partition(" ")[2]} - {""})
    return out


def _models(value: Any) -> Iterator[BaseModel]:
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _models(getattr(value, name))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _models(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _models(v)


def iter_secrets(model: BaseModel) -> Iterator[str]:
    """Every secret value in a config tree (for redaction and the secret audit)."""
    for name in type(model).model_fields:
        yield from _secrets_in(getattr(model, name))


def _secrets_in(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        if value.get_secret_value():
            yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        yield from iter_secrets(value)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _secrets_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _secrets_in(v)
