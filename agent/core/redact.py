"""One filter over every output: each configured secret value is masked wherever it appears.

A target can echo a credential back: in a malformed status line, a header, a `Location`. The probe quotes
what it received in its failure message, and that message goes to the log, `--json`, `/probe`, history, the
retained MQTT cause and the status page. Rather than trusting every quoting site, the secrets are masked
at the two places all of that passes through: `ProbeResult` (its message and string values, on creation)
and the log formatter (every line, tracebacks included: agent.core.redact_log).

The set of secrets is process-wide, like logging itself: `add_secrets` is called with every config that
loads, and a rotated-out secret stays masked until the process ends. No project imports: `model` uses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "<redacted>"
MIN_LENGTH = 4
"""Shorter values are not masked: they would hide ordinary words and numbers in every message."""
MAX_SECRETS = 10_000

_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def add_secrets(values: Iterable[str]) -> None:
    """Mask these values (and keep masking the ones added before) in every output from now on."""
    global _pattern
    new = {v for v in values if len(v) >= MIN_LENGTH} - _secrets
    if not new or len(_secrets) >= MAX_SECRETS:
        return
    _secrets.update(new)
    # Longest first, so a secret that contains another is masked whole.
    _pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))


def redact(text: str) -> str:
    """`text` with every secret replaced by MASK (the same object when there is nothing to mask)."""
    if _pattern is None or not text:
        return text
    return _pattern.sub(MASK, text) if _pattern.search(text) else text


def active() -> bool:
    """True once any secret is registered."""
    return _pattern is not None
