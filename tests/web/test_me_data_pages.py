"""``/me/data`` in a real Chromium on a whole Ruche: a person who joined on the pages finds
"My data" from "My work", downloads their data (a JSON file naming them), then deletes their
account: the confirmation needs the box ticked (keyboard only), the account goes, and the page
says what was erased and what stays. axe-core on every page, English and French, at a phone's
and a desktop's size."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.support.web import DESKTOP, PHONE, Site, accept_charter, assert_accessible, follow, join

SIZES: dict[str, ViewportSize] = {"phone": PHONE, "desktop": DESKTOP}


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot into ``$RUCHE_SCREENSHOTS`` when set (to look at the pages)."""
    folder = os.environ.get("RUCHE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def accessible_in_both_languages(page: Page, size: str, name: str) -> None:
    path = page.url.split("?")[0]
    for lang in ("fr", "en"):
        page.goto(f"{path}?lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        assert_accessible(page)
        screenshot(page, f"{name}-{lang}-{size}")


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_person_downloads_their_data_then_deletes_their_account(
    page: Page, site: Site, size: str, tmp_path: Path
) -> None:
    page.set_viewport_size(SIZES[size])
    name = f"Noor Forgettable {size}"
    code = join(page, site, name)
    accept_charter(page, site)

    page.goto(site.url("/me?lang=en"))
    follow(page.get_by_role("link", name="My data"))
    expect(page.get_by_role("heading", name="My data", level=1)).to_be_visible()
    accessible_in_both_languages(page, size, "me-data")

    with page.expect_download() as started:
        page.get_by_role("link", name="Download my data").click()
    download = started.value
    assert download.suggested_filename == "ruche-my-data.json"
    saved = tmp_path / "mine.json"
    download.save_as(saved)
    exported = json.loads(saved.read_text())
    assert exported["profile"]["display_name"] == name

    follow(page.get_by_role("link", name="Delete my account"))
    expect(page.get_by_role("heading", name="Delete my account", level=1)).to_be_visible()
    expect(page.get_by_text(name)).to_be_visible()
    accessible_in_both_languages(page, size, "me-data-delete")
    # Without the box ticked nothing is deleted; the page says why, next to the box.
    page.get_by_role("button", name="Delete my account for good").click()
    box = page.get_by_role("checkbox", name="I understand that my account is deleted for good")
    expect(page.get_by_role("alert")).to_contain_text("Tick the box")
    expect(box).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    screenshot(page, f"me-data-delete-error-en-{size}")
    # Keyboard only: tick the box, then the button.
    box.focus()
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    page.get_by_role("button", name="Delete my account for good").focus()
    page.keyboard.press("Enter")

    page.wait_for_url("**/me/data/deleted")
    expect(page.get_by_role("heading", name="Your account is deleted", level=1)).to_be_visible()
    expect(page.get_by_text("without your identity")).to_be_visible()
    accessible_in_both_languages(page, size, "me-data-deleted")
    # Signed out; the recovery code opens nothing any more.
    page.goto(site.url("/me"))
    expect(page).to_have_url(re.compile(r"/login\?next=/me$"))
    page.get_by_label("Recovery code or volunteer key").fill(code)
    page.get_by_role("button", name="Sign in with my code").click()
    expect(page.get_by_role("alert")).to_contain_text("does not open any account")
