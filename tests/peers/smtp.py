"""A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, run in its own thread; stop and start again.

It records every message it accepted (parsed) and lets a test act inside DATA (`on_data`), e.g. SIGKILL
the sender after the message arrived but before the sender hears 250.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.peers.base import LOOPBACK, free_port


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.server.lock:
            self.server.messages.append(msg)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.server.on_data is not None:
            self.server.on_data(msg)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on a fixed free port; `messages` keeps what it accepted across stop/start."""

    def __init__(
        self,
        port: int | None = None,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.starttls, self.implicit_tls, self.auth = starttls, implicit_tls, auth
        self.logins: list[str] = []
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.on_data: Callable[[EmailMessage], None] | None = None
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        """Listen (again) on the same port."""
        kw: dict[str, Any] = {}
        if self.starttls is not None:
            kw |= {"tls_context": self.starttls, "require_starttls": True}
        if self.implicit_tls is not None:
            kw |= {"ssl_context": self.implicit_tls, "server_hostname": LOOPBACK}
        if self.auth is not None:
            kw |= {
                "authenticator": self._authenticate,
                "auth_required": True,
                # aiosmtpd only knows of STARTTLS; with implicit TLS the whole session is encrypted anyway
                "auth_require_tls": self.starttls is not None,
            }
        self._controller = Controller(_Handler(self), hostname=LOOPBACK, port=self.port, ready_timeout=10, **kw)
        self._controller.start()
        return self

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(data, LoginPassword) and self.auth == (data.login.decode(), data.password.decode())
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        """Stop listening (connections are refused until start())."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def ids(self) -> list[str]:
        """Message-IDs received, in order."""
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose To: is `address`."""
        with self.lock:
            return [m for m in self.messages if str(m["To"]) == address]
