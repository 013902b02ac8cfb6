"""The pages as people use them, for tests/web: a whole Ruche (``ruche up``: API, workers,
scheduler, relay) on a Redis of its own, a real SMTP server receiving its mails, and the steps
every scenario repeats (an NGO's project over the API, joining and the charter in the browser,
axe-core's checks).

The site is shared by the tests of one pytest worker (starting it costs seconds): every test
makes its own organisation, projects and people, so none sees another's.
"""

from __future__ import annotations

import email
import email.policy
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, ViewportSize

from core.redis.server import free_port

__all__ = [
    "ADMIN_TOKEN",
    "DESKTOP",
    "PHONE",
    "Mailbox",
    "Site",
    "accept_charter",
    "assert_accessible",
    "join",
    "mailbox",
]

ADMIN_TOKEN = "rk_admin_" + "web" * 12
PHONE: ViewportSize = {"width": 360, "height": 640}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
#: axe-core's rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA (best practices aside).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
_AXE = Axe()


class Mailbox:
    """The mails a real SMTP server (aiosmtpd, on loopback) received, newest last."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            self._lock.notify_all()
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 30.0) -> EmailMessage:
        """The newest mail to ``to``, waiting for it to come."""

        def newest() -> EmailMessage | None:
            for message in reversed(self.messages):
                if to.lower() in str(message["To"]).lower():
                    return message  # type: ignore[no-any-return]
            return None

        with self._lock:
            found = self._lock.wait_for(newest, timeout)
        assert found is not None, f"no mail to {to} in {timeout}s"
        return found


@contextmanager
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@dataclass
class Site:
    """A running Ruche and the people and projects a test makes on it."""

    base_url: str
    mail: Mailbox
    log: Path
    #: The site's own Redis, for tests that look at (or tamper with) what it stores.
    redis_url: str = ""
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    def url(self, path: str) -> str:
        return self.base_url + path

    def org(self, name: str = "Lingua Aid") -> tuple[str, str]:
        """A new organisation: its id and API key."""
        made = self.http.post(
            "/v1/orgs",
            json={"name": name, "contact_email": f"staff-{secrets.token_hex(4)}@example.org"},
            headers=_bearer(ADMIN_TOKEN),
        )
        assert made.status_code == 201, made.text
        body = made.json()
        return str(body["id"]), str(body["api_key"])

    def project(self, org_token: str, task_type: str, **policy: Any) -> str:
        body = {
            "name": f"{task_type} {secrets.token_hex(3)}",
            "task_type": task_type,
            "instructions": f"Please do this {task_type} task carefully.",
            **policy,
        }
        made = self.http.post("/v1/projects", json=body, headers=_bearer(org_token))
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def tasks(self, org_token: str, project_id: str, payloads: Sequence[dict[str, Any]]) -> None:
        sent = self.http.post(
            f"/v1/projects/{project_id}/tasks",
            json={"tasks": [{"payload": payload} for payload in payloads]},
            headers=_bearer(org_token),
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["accepted"] == len(payloads), sent.text


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def join(
    page: Page, site: Site, name: str, languages: Sequence[str] = ("English", "French")
) -> str:
    """Joins through /join (in English) and returns the recovery code shown once."""
    page.goto(site.url("/join?lang=en"))
    page.get_by_label("Display name").fill(name)
    for language in languages:
        page.get_by_role("group", name="Languages").get_by_label(language, exact=True).check()
    page.get_by_role("button", name="Join").click()
    page.wait_for_url("**/welcome")
    return page.locator("#recovery-code").inner_text().strip()


def accept_charter(page: Page, site: Site) -> None:
    page.goto(site.url("/charter"))
    page.get_by_role("button", name="I accept the charter").click()
    page.wait_for_load_state()


def follow(link: Locator) -> None:
    """Clicks a link and returns once the page it opens has loaded.

    Without the wait, the next step can run on the page being replaced: axe-core then reads a
    document that is gone ("Cannot read properties of null (reading 'documentElement')").
    """
    with link.page.expect_navigation():
        link.click()


def assert_accessible(page: Page) -> None:
    """No violation of a WCAG 2.2 A/AA rule of axe-core on the page as it is now."""
    results = _AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    violations = results.response.get("violations", [])
    assert not violations, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node.get("target")) for node in v.get("nodes", [])[:5])
        for v in violations
    )


def browser_executable() -> str:
    return os.environ.get("RUCHE_BROWSER", "/usr/bin/chromium")
