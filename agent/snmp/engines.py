"""The agent's SNMP stacks: one per v3 credential set, so that USM keys never cross targets."""

from __future__ import annotations

from agent.snmp.client import Credentials
from agent.snmp.stack import SnmpStack

__all__ = ["SnmpEngines"]


class SnmpEngines:
    """The SNMP stacks of one agent: one per distinct set of v3 USM credentials, one for every v2c target.

    pysnmp keys its USM user table by user name (and, once discovered, by the device's engine ID), so two
    targets with the same user name and different keys in one engine overwrite each other's keys, and a target
    with a wrong key can borrow the right one another target localized for the same device. A stack (a pysnmp
    engine with its own sockets) per credential set binds each target's keys to it: targets share a stack only
    when their keys are equal. v2c needs no engine state per community (the native client sends the community
    with each request), so every v2c target shares one stack and its v2c sockets. Each SnmpEngines owns the
    stacks it made, and close() closes them all: two SnmpEngines never share a socket.
    """

    def __init__(self) -> None:
        self._stacks: dict[str, SnmpStack] = {}

    def for_credentials(self, credentials: Credentials) -> SnmpStack:
        """The stack for targets with exactly these credentials (made on first use)."""
        key = credentials.usm_key()
        stack = self._stacks.get(key)
        if stack is None:
            stack = self._stacks[key] = SnmpStack()
        return stack

    def __len__(self) -> int:
        return len(self._stacks)

    def close(self) -> None:
        """Close every stack: their pysnmp engines and v2c sockets."""
        for stack in self._stacks.values():
            stack.close()
        self._stacks.clear()
