"""Joining, the recovery code, the charter, signing out and in again: in a real Chromium, at a
phone's and a desktop's size, in English and French, with axe-core on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.support.web import DESKTOP, PHONE, Site, accept_charter, assert_accessible, follow, join

SIZES: dict[str, ViewportSize] = {"phone": PHONE, "desktop": DESKTOP}


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_join_then_charter_then_sign_out_and_back_in_with_the_recovery_code(
    browser: Browser, site: Site, size: str
) -> None:
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.goto(site.url("/?lang=en"))
    assert_accessible(page)
    follow(page.get_by_role("link", name="Join").first)
    assert_accessible(page)

    code = join(page, site, "Amina")
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", code)
    assert_accessible(page)
    page.reload()  # shown once: a reload no longer shows it
    expect(page.locator("#recovery-code")).to_have_count(0)

    page.goto(site.url("/charter"))
    assert_accessible(page)
    page.get_by_role("button", name="I accept the charter").click()
    expect(page.locator(".flash")).to_have_text("Thank you: you accepted the charter.")
    # ruche.js announces it through the live region, for screen readers.
    expect(page.locator("#live")).to_have_text("Thank you: you accepted the charter.")

    page.goto(site.url("/logout"))
    assert_accessible(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.locator(".flash")).to_have_text("You are signed out.")
    page.goto(site.url("/charter"))
    expect(page).to_have_url(re.compile(r"/login\?next=/charter$"))
    assert_accessible(page)

    page.get_by_label("Recovery code or volunteer key").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Sign in with my code").click()
    expect(page).to_have_url(re.compile(r"/charter$"))
    expect(page.get_by_text("You accepted the charter.")).to_be_visible()
    context.close()


def test_the_pages_in_french_and_the_join_errors_beside_their_fields(
    page: Page, site: Site
) -> None:
    page.goto(site.url("/?lang=fr"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.goto(site.url("/join"))  # the choice is remembered
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert_accessible(page)
    page.get_by_role("button", name="Rejoindre").click()
    expect(page.locator("#display_name-error")).to_be_visible()
    expect(page.locator("#languages-error")).to_be_visible()
    expect(page.get_by_label("Nom affiché")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    follow(page.get_by_role("link", name="English"))
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_a_wrong_code_is_refused_beside_its_field(page: Page, site: Site) -> None:
    page.goto(site.url("/login?lang=en"))
    page.get_by_label("Recovery code or volunteer key").fill("AAAA-BBBB-CCCC-DDDD-EEEE")
    page.get_by_role("button", name="Sign in with my code").click()
    expect(page.locator("#code-error")).to_be_visible()
    assert_accessible(page)


def test_sign_out_everywhere_ends_the_other_devices_sessions(browser: Browser, site: Site) -> None:
    first = browser.new_context(viewport=PHONE).new_page()
    code = join(first, site, "Bilal")
    accept_charter(first, site)
    second = browser.new_context(viewport=DESKTOP).new_page()
    second.goto(site.url("/login?lang=en"))
    second.get_by_label("Recovery code or volunteer key").fill(code)
    second.get_by_role("button", name="Sign in with my code").click()
    expect(second).to_have_url(re.compile(r"/work$"))

    first.goto(site.url("/logout"))
    first.get_by_role("button", name="Sign out everywhere").click()
    expect(first.locator(".flash")).to_have_text("You are signed out on every device.")
    second.goto(site.url("/charter"))
    expect(second).to_have_url(re.compile(r"/login\?next=/charter$"))
