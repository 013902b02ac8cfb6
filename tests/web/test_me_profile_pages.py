""" "My profile" in a real Chromium on a whole Ruche: a volunteer who joined goes from "My work"
to "My profile", leaves their name empty (the error is said beside the field), then saves a new
name, a language ticked, another written out and skills; the flash says so and the form shows
the saved profile. On a phone in English and on a desktop in French, axe-core clean on every
page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from tests.support.web import DESKTOP, PHONE, Site, assert_accessible, follow, join

#: (size, UI language, the words the page uses in that language)
CASES: dict[str, tuple[ViewportSize, str, dict[str, str]]] = {
    "phone-en": (
        PHONE,
        "en",
        {
            "profile": "My profile",
            "name": "Display name",
            "languages": "Languages",
            "spanish": "Spanish",
            "others": "Other languages",
            "skills": "Skills",
            "save": "Save my profile",
            "fix": "Please correct what is marked below.",
            "saved": "Your profile is saved.",
        },
    ),
    "desktop-fr": (
        DESKTOP,
        "fr",
        {
            "profile": "Mon profil",
            "name": "Nom affiché",
            "languages": "Langues",
            "spanish": "Espagnol",
            "others": "Autres langues",
            "skills": "Compétences",
            "save": "Enregistrer mon profil",
            "fix": "Merci de corriger ce qui est signalé ci-dessous.",
            "saved": "Votre profil est enregistré.",
        },
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_volunteer_changes_their_profile(browser: Browser, site: Site, case: str) -> None:
    size, lang, words = CASES[case]
    context = browser.new_context(viewport=size)
    page = context.new_page()
    join(page, site, f"Ines {case}", languages=("English",))
    page.goto(site.url(f"/me?lang={lang}"))
    follow(page.get_by_role("link", name=words["profile"]))
    page.wait_for_url("**/me/profile")
    expect(page.get_by_role("heading", level=1, name=words["profile"])).to_be_visible()
    expect(page.get_by_label(words["name"])).to_have_value(f"Ines {case}")
    assert_accessible(page)

    page.get_by_label(words["name"]).fill("")
    page.get_by_role("button", name=words["save"]).click()
    expect(page.get_by_role("alert")).to_have_text(words["fix"])
    expect(page.get_by_label(words["name"])).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    page.get_by_label(words["name"]).fill("Inès K.")
    languages = page.get_by_role("group", name=words["languages"])
    languages.get_by_label(words["spanish"], exact=True).check()
    page.get_by_label(words["others"]).fill("wo")
    page.get_by_label(words["skills"]).fill("medical vocabulary")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_url("**/me/profile")
    expect(page.locator(".flash")).to_have_text(words["saved"])
    expect(page.get_by_label(words["name"])).to_have_value("Inès K.")
    expect(languages.get_by_label(words["spanish"], exact=True)).to_be_checked()
    expect(page.get_by_label(words["others"])).to_have_value("wo")
    expect(page.get_by_label(words["skills"])).to_have_value("medical vocabulary")
    assert_accessible(page)
    context.close()
