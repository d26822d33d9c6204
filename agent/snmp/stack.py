"""One SNMP stack: a pysnmp engine (v3, and v2c when asked for pysnmp) and the native v2c sockets beside it.

The stack owns both: whoever makes one closes it, and closing it closes the pysnmp engine's sockets and
timer and the v2c sockets. No table on the side knows about them, so two stacks never share a socket and
nothing outlives its owner. Both halves are made on first use, inside the running event loop.
"""

from __future__ import annotations

from pysnmp.entity.engine import SnmpEngine

from agent.snmp.v2c import V2cTransport, closed_error

__all__ = ["SnmpStack"]


class SnmpStack:
    """A pysnmp engine and the v2c transport that lives and dies with it; close() closes both."""

    def __init__(self) -> None:
        self._pysnmp: SnmpEngine | None = None
        self._v2c: V2cTransport | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once close() ran: no request goes out through this stack again."""
        return self._closed

    @property
    def pysnmp(self) -> SnmpEngine:
        """The pysnmp engine, made on first use; SnmpError (closed_error) once the stack is closed."""
        self._check_open()
        if self._pysnmp is None:
            self._pysnmp = SnmpEngine()
        return self._pysnmp

    @property
    def v2c(self) -> V2cTransport:
        """The native v2c transport (its sockets open on first request); SnmpError once the stack is closed."""
        self._check_open()
        if self._v2c is None:
            self._v2c = V2cTransport()
        return self._v2c

    def _check_open(self) -> None:
        # A closed stack must not quietly make new sockets that nobody will close.
        if self._closed:
            raise closed_error()

    def close(self) -> None:
        """Close the v2c sockets and the pysnmp engine's sockets and timer; outstanding requests fail."""
        self._closed = True
        if self._v2c is not None:
            self._v2c.close()
        if self._pysnmp is not None:
            self._pysnmp.close_dispatcher()
