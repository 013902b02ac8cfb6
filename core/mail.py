"""Sending mail: sign-in links and the like, plain text, through the SMTP server of
``RUCHE_SMTP_URL``.

``smtp://[user:pass@]host[:port]`` (plain, port 25 by default; add ``?starttls=1`` to upgrade
to TLS with STARTTLS, port 587 by default), ``smtps://…`` (TLS from the start, port 465). The
server's certificate is checked. With no URL, :class:`Mailer` writes each mail to the log as one
``mail.not_sent`` event (``to``, ``subject``, ``body``) in development, so that ``ruche up`` on a
laptop shows the sign-in links it would send; in production it sends nothing and says it is off
(:attr:`Mailer.enabled`): the pages then hide e-mail sign-in.

The client is aiosmtplib, a maintained asyncio SMTP client: the API process is asyncio, and
a mail is sent without holding a thread (smtplib would need one per mail in flight).
:meth:`Mailer.send_soon` sends in a task of its own, after the page has answered: a sign-in form
then answers as fast for an unknown address (no mail) as for a known one, and a slow mail
server never holds a page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

import structlog

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ["Mailer", "SmtpServer", "parse_smtp_url"]

log = structlog.get_logger(__name__)

#: Seconds to connect to the server and send one mail.
SEND_TIMEOUT_SECONDS = 20.0
_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    #: TLS from the first byte (smtps://).
    tls: bool
    #: STARTTLS after connecting (smtp://…?starttls=1).
    starttls: bool


def parse_smtp_url(url: str) -> SmtpServer:
    """The server of an ``smtp://`` or ``smtps://`` URL; ``ValueError`` (never echoing the URL,
    which may hold a password) when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must be an smtp:// or smtps:// URL")
    if not parts.hostname:
        raise ValueError("must name the mail server's host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    options = parse_qs(parts.query)
    starttls = options.get("starttls", ["0"])[-1].lower() in _TRUE
    tls = parts.scheme == "smtps"
    if tls and starttls:
        raise ValueError("takes starttls=1 with smtp:// only (smtps:// is TLS already)")
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if tls else 587 if starttls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
        starttls=starttls,
    )


class Mailer:
    def __init__(self, settings: Settings) -> None:
        url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
        self.server = parse_smtp_url(url) if url else None
        self.sender = settings.mail_from
        #: False in production without a mail server: nothing can be sent.
        self.enabled = self.server is not None or settings.env != "production"
        self._pending: set[asyncio.Task[None]] = set()

    def message(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
        message.set_content(body)
        return message

    async def send(self, to: str, subject: str, body: str) -> None:
        """Sends one plain-text mail now (or logs it, with no server in development)."""
        if self.server is None:
            if self.enabled:
                log.info("mail.not_sent", to=to, subject=subject, body=body)
            return
        import aiosmtplib  # only when there is a server to talk to

        await aiosmtplib.send(
            self.message(to, subject, body),
            hostname=self.server.host,
            port=self.server.port,
            username=self.server.username,
            password=self.server.password,
            use_tls=self.server.tls,
            start_tls=self.server.starttls,
            timeout=SEND_TIMEOUT_SECONDS,
        )
        log.info("mail.sent", subject=subject)

    def send_soon(self, to: str, subject: str, body: str) -> None:
        """Sends in the background; a failure is logged (``mail.failed``), never raised."""
        task = asyncio.get_running_loop().create_task(self._send_logged(to, subject, body))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_logged(self, to: str, subject: str, body: str) -> None:
        try:
            await self.send(to, subject, body)
        except Exception as failed:  # any failure of a mail is logged, never raised
            # The address's domain only: the log need not hold people's addresses.
            log.warning(
                "mail.failed",
                error_type=type(failed).__name__,
                to_domain=to.rpartition("@")[2],
            )

    async def drain(self) -> None:
        """Waits for the mails being sent (tests; the app's shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
