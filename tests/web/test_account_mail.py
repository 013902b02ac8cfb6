"""Joining with an e-mail address and signing in by the link mailed through a real SMTP server,
opened in a second browser context (another device), at a phone's and a desktop's size, in
English and French, with axe-core on every page; and ``ruche invite`` against the running site."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.web import ADMIN_TOKEN, DESKTOP, PHONE, Site, assert_accessible

LINK = re.compile(r"https?://\S+/login/link/[A-Za-z0-9_-]+")


def _link(message: EmailMessage) -> str:
    found = LINK.search(message.get_content())
    assert found is not None, message.get_content()
    return found.group(0)


def _nth_mail(site: Site, to: str, n: int) -> EmailMessage:
    """The ``n``-th mail (from 1) to ``to``, waiting for it to come (mails leave after the page
    has answered)."""

    def mails() -> list[EmailMessage]:
        return [m for m in site.mail.messages if to.lower() in str(m["To"]).lower()]

    with site.mail._lock:
        assert site.mail._lock.wait_for(lambda: len(mails()) >= n, 30), f"no mail {n} to {to}"
        return mails()[n - 1]


def _address() -> str:
    return f"vol-{secrets.token_hex(4)}@example.org"


def _join_with_email(page: Page, site: Site, name: str, email: str, lang: str) -> None:
    page.goto(site.url(f"/join?lang={lang}"))
    assert_accessible(page)
    display, group, mail, button = {
        "en": ("Display name", "Languages", "Email", "Join"),
        "fr": ("Nom affiché", "Langues", "E-mail", "Rejoindre"),
    }[lang]
    page.get_by_label(display).fill(name)
    checkbox = page.get_by_role("group", name=group).get_by_role("checkbox").first
    checkbox.check()
    page.get_by_label(mail).fill(email)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url("**/join/check-mail")


@pytest.mark.parametrize(("size", "lang"), [("phone", "en"), ("desktop", "fr")])
def test_join_with_an_email_then_sign_in_by_its_link_on_a_second_device(
    browser: Browser, site: Site, size: str, lang: str
) -> None:
    viewport, other = (PHONE, DESKTOP) if size == "phone" else (DESKTOP, PHONE)
    first = browser.new_context(viewport=viewport).new_page()
    email = _address()
    _join_with_email(first, site, "Amina", email, lang)
    assert_accessible(first)  # "check your mail"
    welcome = _nth_mail(site, email, 1)
    subject = {"en": "Welcome to", "fr": "Bienvenue sur"}[lang]
    assert str(welcome["Subject"]).startswith(subject)

    # The mail is read on another device: a second browser context, with no cookie of the first.
    second = browser.new_context(viewport=other).new_page()
    second.goto(_link(welcome) + f"?lang={lang}")
    assert_accessible(second)
    sign_in = {"en": "Sign in", "fr": "Se connecter"}[lang]
    second.locator("main").get_by_role("button", name=sign_in).click()
    second.wait_for_url("**/welcome")
    expect(second.locator("#recovery-code")).to_be_visible()  # shown once, now
    assert_accessible(second)
    second.goto(site.url("/charter"))
    expect(second).to_have_url(re.compile(r"/charter$"))
    # The first device was never signed in by the form.
    first.goto(site.url("/charter"))
    expect(first).to_have_url(re.compile(r"/login\?next=/charter$"))

    # Later, from the first device: ask for a link, follow it from the second, then again.
    assert_accessible(first)
    first.get_by_label({"en": "Email", "fr": "E-mail"}[lang]).fill(email.upper())
    first.get_by_role(
        "button",
        name={"en": "Send me a sign-in link", "fr": "M’envoyer un lien de connexion"}[lang],
    ).click()
    flash = {
        "en": "If this address belongs to an account, a sign-in link is on its way.",
        "fr": "Si cette adresse appartient à un compte, un lien de connexion est en route.",
    }[lang]
    expect(first.locator(".flash")).to_have_text(flash)
    mail = _nth_mail(site, email, 2)
    link = _link(mail)
    third = browser.new_context(viewport=other).new_page()
    third.goto(link + f"?lang={lang}")
    third.locator("main").get_by_role("button", name=sign_in).click()
    expect(third).to_have_url(re.compile(r"/charter$"))  # the page it was asked from

    # Used: the link now says so, and signs nobody in.
    fourth = browser.new_context(viewport=viewport).new_page()
    fourth.goto(link + f"?lang={lang}")
    heading = {
        "en": "This sign-in link no longer works",
        "fr": "Ce lien de connexion ne fonctionne plus",
    }
    expect(fourth.get_by_role("heading", level=1)).to_have_text(heading[lang])
    assert_accessible(fourth)
    fourth.goto(site.url("/charter"))
    expect(fourth).to_have_url(re.compile(r"/login\?next=/charter$"))


def test_a_wrong_address_is_said_beside_its_field(page: Page, site: Site) -> None:
    page.set_viewport_size(PHONE)
    page.goto(site.url("/login?lang=fr"))
    assert_accessible(page)
    page.get_by_label("E-mail").fill("pas une adresse")
    page.get_by_role("button", name="M’envoyer un lien de connexion").click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)


def test_ruche_invite_makes_lists_and_revokes_codes(site: Site) -> None:
    env = {**os.environ, "RUCHE_URL": site.base_url, "RUCHE_TOKEN": ADMIN_TOKEN}

    def ruche(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ruche", "invite", *args],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    made = ruche("--uses", "5", "--days", "2")
    assert made.returncode == 0, made.stderr
    invitation = json.loads(made.stdout)
    assert invitation["uses"] == 5
    assert invitation["url"] == f"{site.base_url}/join?invite={invitation['code']}"
    listed = ruche("--list")
    assert invitation["id"] in [i["id"] for i in json.loads(listed.stdout)]
    assert ruche("--revoke", invitation["id"]).returncode == 0
    assert invitation["id"] not in [i["id"] for i in json.loads(ruche("--list").stdout)]
    unknown = ruche("--revoke", "inv_0000000000000000")
    assert unknown.returncode == 1 and "invitation" in unknown.stderr
