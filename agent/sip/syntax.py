"""The one error of SIP syntax, apart from the parsers, so that validating a URI in a config loads no parser."""

from __future__ import annotations


class SipParseError(ValueError):
    """A SIP message, header or URI is malformed or too large."""
