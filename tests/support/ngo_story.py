"""Steps of the console's end-to-end story (tests/web/test_ngo_story.py): staff invited by mail
and signed in each on a device of their own, volunteers answering through the API, polls on
what the workers do beside the test, the keyboard checks (Tab until a control has the focus,
and its focus ring seen in the computed style)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from playwright.sync_api import Browser, Locator, Page, ViewportSize

from tests.support.web import Site, assert_accessible

__all__ = [
    "accept_invitation",
    "address",
    "answer_tasks",
    "csrf_of",
    "every_stop_shows_focus",
    "fits_the_width",
    "focus_ring",
    "invitation_link",
    "tab_to",
    "until",
    "volunteer",
]

LINK = re.compile(r"https?://\S+/ngo/invitations/[A-Za-z0-9_-]+")


def address(role: str) -> str:
    return f"{role}-{secrets.token_hex(4)}@example.org"


def invitation_link(site: Site, to: str) -> str:
    """The link of the newest staff invitation mailed to ``to``."""
    message: EmailMessage = site.mail.wait_for(to)
    found = LINK.search(message.get_content())
    assert found is not None, message.get_content()
    return found.group(0)


def accept_invitation(
    browser: Browser,
    viewport: ViewportSize,
    site: Site,
    to: str,
    name: str,
    words: dict[str, str],
    languages: tuple[str, ...] = (),
) -> Page:
    """Opens the invitation mailed to ``to`` in a browser context of its own and accepts it
    as ``name`` (reading ``languages``, language codes): the page lands on the organisation's
    projects."""
    page = browser.new_context(viewport=viewport, accept_downloads=True).new_page()
    page.goto(invitation_link(site, to) + f"?lang={words['lang']}")
    assert_accessible(page)
    page.get_by_label(words["name"]).fill(name)
    for code in languages:
        page.locator(f"input[name=languages][value={code}]").check()
    page.get_by_role("button", name=words["accept"]).click()
    page.wait_for_url(re.compile(r".*/ngo/orgs/org_[a-z0-9]+$"))
    assert_accessible(page)
    return page


def until(check: Callable[[], Any], what: str, bound_s: float = 90.0) -> Any:
    """``check()`` once it is truthy (the workers run beside the test). The bound only stops a
    stuck run; nothing is measured."""
    give_up = time.monotonic() + bound_s
    found = None
    while time.monotonic() < give_up:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"never happened: {what} (last: {found!r})")


def volunteer(site: Site, skill: str) -> dict[str, str]:
    """A volunteer through the API (charter accepted) with the project's skill: its headers."""
    made = site.http.post(
        "/v1/volunteers",
        json={"display_name": f"Vol {secrets.token_hex(2)}", "languages": ["en", "fr"],
              "skills": [skill]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    accepted = site.http.post("/v1/me/charter", json={"accept": True}, headers=headers)
    assert accepted.status_code == 200, accepted.text
    return headers


def answer_tasks(
    site: Site,
    headers: dict[str, str],
    project_id: str,
    count: int,
    answer_for: Callable[[str], str],
) -> list[str]:
    """Claims and answers ``count`` tasks of the project (``answer_for(source_text)``): the
    external ids of the tasks answered, in order."""
    answered = []
    for _ in range(count):
        claimed = site.http.post(
            "/v1/assignments", json={"project_id": project_id}, headers=headers
        )
        assert claimed.status_code == 201, claimed.text
        lease = claimed.json()
        source = lease["task"]["payload"]["source_text"]
        sent = site.http.post(
            f"/v1/assignments/{lease['id']}/submit",
            json={"answer": {"text": answer_for(source)}},
            headers=headers,
        )
        assert sent.status_code == 202, sent.text
        answered.append(source)
    return answered


def csrf_of(page: Page, path: str) -> str:
    """The CSRF token of the signed-in person's session, read from a form of ``path``."""
    page.goto(path)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return token


def tab_to(page: Page, target: Locator, most: int = 150) -> None:
    """Presses Tab until ``target`` has the focus (as a keyboard user reaches a control)."""
    handle = target.element_handle()
    assert handle is not None
    for _ in range(most):
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


_RING = """(el) => {
  const s = getComputedStyle(el);
  return {style: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0,
          color: s.outlineColor, shadow: s.boxShadow};
}"""


def focus_ring(page: Page, target: Locator) -> None:
    """The focused ``target`` shows a ring it does not have unfocused: an outline at least 2px
    wide (WCAG 2.4.7/2.4.13), or a box shadow that appears with the focus."""
    handle = target.element_handle()
    assert handle is not None
    focused = page.evaluate(_RING, handle)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    resting = page.evaluate(_RING, handle)
    handle.focus()
    outlined = focused["style"] not in ("none", "hidden") and focused["width"] >= 2
    shadowed = focused["shadow"] not in ("none", resting["shadow"])
    assert outlined or shadowed, (focused, resting)
    assert (focused["style"], focused["width"], focused["shadow"]) != (
        resting["style"],
        resting["width"],
        resting["shadow"],
    ), "the focus changes nothing that shows"


_WIDER = """() => {
  const width = document.documentElement.clientWidth;
  const wider = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    const scrolls = el.closest(".ngo-table-scroll, .table-scroll, .visually-hidden");
    if (box.right > width + 1 && !scrolls) {
      wider.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(box.right)}`);
    }
  }
  return {width, scroll: document.documentElement.scrollWidth, wider: wider.slice(0, 8)};
}"""


def fits_the_width(page: Page) -> None:
    """Nothing wider than the window (a phone's 360px): no sideways scrolling of the page;
    wide tables scroll inside their own keyboard-reachable region."""
    found = page.evaluate(_WIDER)
    assert found["scroll"] <= found["width"] and not found["wider"], (page.url, found)


_ACTIVE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const name = (el.getAttribute("aria-label") || el.textContent || el.id || el.name || "");
  return {tag: el.tagName.toLowerCase(), name: name.trim().slice(0, 60),
          style: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0, shadow: s.boxShadow,
          key: el.outerHTML.slice(0, 200)};
}"""


def every_stop_shows_focus(page: Page, most: int = 200) -> int:
    """Tabs through the whole page from its top, once round: every control reached shows a
    focus ring (an outline at least 2px wide, or a box shadow). The number of stops."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen: set[str] = set()
    for _ in range(most):
        page.keyboard.press("Tab")
        found = page.evaluate(_ACTIVE)
        if found is None or found["key"] in seen:
            return len(seen)
        seen.add(found["key"])
        ring = (found["style"] not in ("none", "hidden") and found["width"] >= 2) or found[
            "shadow"
        ] != "none"
        assert ring, (page.url, found)
    raise AssertionError(f"more than {most} stops on {page.url}")
