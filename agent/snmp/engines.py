"""The agent's pysnmp engines: one per v3 credential set, so that USM keys never cross targets."""

from __future__ import annotations

from pysnmp.entity.engine import SnmpEngine

from agent.snmp.client import Credentials, close_engine, new_engine

__all__ = ["SnmpEngines"]


class SnmpEngines:
    """The pysnmp engines of one agent: one per distinct set of v3 USM credentials, one for every v2c target.

    pysnmp keys its USM user table by user name (and, once discovered, by the device's engine ID), so two
    targets with the same user name and different keys in one engine overwrite each other's keys, and a target
    with a wrong key can borrow the right one another target localized for the same device. An engine per
    credential set binds each target's keys to it: targets share an engine only when their keys are equal.
    v2c needs no engine state per community (the native client sends the community with each request).
    """

    def __init__(self) -> None:
        self._engines: dict[str, SnmpEngine] = {}

    def for_credentials(self, credentials: Credentials) -> SnmpEngine:
        """The engine for targets with exactly these credentials (made on first use, in the running loop)."""
        key = credentials.usm_key()
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = new_engine()
        return engine

    def __len__(self) -> int:
        return len(self._engines)

    def close(self) -> None:
        """Close every engine."""
        for engine in self._engines.values():
            close_engine(engine)
        self._engines.clear()
