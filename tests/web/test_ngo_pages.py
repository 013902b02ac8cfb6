"""The NGO console in a real Chromium on a whole Ruche with a real SMTP server: the operator's
new organisation mails its contact an invitation; the owner accepts it, invites a manager and a
viewer from the People page; each accepts from their mailbox on a device of their own; the
manager creates a project (a refusal first, shown beside its field), edits it and pauses it
from the keyboard; the viewer sees the project and its charts but no control, and the edit page
refuses them. At a phone's and a desktop's size, in English and French, axe-core on every
page."""

from __future__ import annotations

import re
import secrets
from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.web import ADMIN_TOKEN, DESKTOP, PHONE, Site, assert_accessible, follow

LINK = re.compile(r"https?://\S+/ngo/invitations/[A-Za-z0-9_-]+")
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "name": "Display name", "accept": "Accept the invitation", "people": "People",
        "email": "Email", "role": "Role", "send": "Send the invitation", "manager": "Manager",
        "viewer": "Viewer", "new": "New project", "project_name": "Project name",
        "task_type": "Task type", "instructions": "Instructions", "create": "Create the project",
        "edit": "Edit the project", "save": "Save the project", "pause": "Pause the project",
        "resume": "Resume the project", "needed": "This is needed.", "paused": "Paused",
        "forbidden": "This is not allowed.", "redundancy": "Answers wanted per task",
        "projects": "Projects",
    },
    "fr": {
        "name": "Nom affiché", "accept": "Accepter l’invitation", "people": "Personnes",
        "email": "E-mail", "role": "Rôle", "send": "Envoyer l’invitation",
        "manager": "Gestionnaire", "viewer": "Lecture seule", "new": "Nouveau projet",
        "project_name": "Nom du projet", "task_type": "Type de tâche",
        "instructions": "Consignes", "create": "Créer le projet", "edit": "Modifier le projet",
        "save": "Enregistrer le projet", "pause": "Mettre le projet en pause",
        "resume": "Relancer le projet", "needed": "Ce champ est requis.", "paused": "En pause",
        "forbidden": "Ce n’est pas permis.", "redundancy": "Réponses voulues par tâche",
        "projects": "Projets",
    },
}  # fmt: skip


def _address(role: str) -> str:
    return f"{role}-{secrets.token_hex(4)}@example.org"


def _link(site: Site, to: str) -> str:
    message: EmailMessage = site.mail.wait_for(to)
    found = LINK.search(message.get_content())
    assert found is not None, message.get_content()
    return found.group(0)


def _accept(context: BrowserContext, site: Site, to: str, name: str, lang: str) -> Page:
    words = WORDS[lang]
    page = context.new_page()
    page.goto(_link(site, to) + f"?lang={lang}")
    assert_accessible(page)
    page.get_by_label(words["name"]).fill(name)
    page.get_by_role("button", name=words["accept"]).click()
    page.wait_for_url(re.compile(r".*/ngo/orgs/org_[a-z0-9]+$"))
    assert_accessible(page)
    return page


@pytest.mark.parametrize(("size", "lang"), [("phone", "en"), ("desktop", "fr")])
def test_owner_invites_manager_creates_and_edits_viewer_only_sees(
    browser: Browser, site: Site, size: str, lang: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    words = WORDS[lang]
    viewport = PHONE if size == "phone" else DESKTOP
    contact = _address("owner")
    made = site.http.post(
        "/v1/orgs",
        json={"name": f"Lingua Aid {lang}", "contact_email": contact},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert made.status_code == 201, made.text

    owner = _accept(browser.new_context(viewport=viewport), site, contact, "Olga", lang)
    follow(owner.get_by_role("link", name=words["people"], exact=True))
    assert_accessible(owner)
    manager_mail, viewer_mail = _address("manager"), _address("viewer")
    owner.get_by_label(words["email"], exact=True).fill(manager_mail)
    owner.get_by_label(words["role"], exact=True).select_option(label=words["manager"])
    owner.get_by_role("button", name=words["send"]).click()
    expect(owner.locator(".flash")).to_be_visible()
    assert_accessible(owner)
    # The viewer's invitation from the keyboard alone: the field, Tab, the role, Tab, Enter.
    owner.get_by_label(words["email"], exact=True).focus()
    owner.keyboard.type(viewer_mail)
    owner.keyboard.press("Tab")
    expect(owner.get_by_label(words["role"], exact=True)).to_be_focused()
    expect(owner.get_by_label(words["role"], exact=True)).to_have_value("viewer")
    owner.keyboard.press("Tab")
    expect(owner.get_by_role("button", name=words["send"])).to_be_focused()
    owner.keyboard.press("Enter")
    expect(owner.locator(".flash")).to_be_visible()
    assert_accessible(owner)

    manager = _accept(browser.new_context(viewport=viewport), site, manager_mail, "Mia", lang)
    follow(manager.get_by_role("link", name=words["new"]))
    assert_accessible(manager)
    manager.get_by_label(words["task_type"], exact=True).select_option("moderation")
    manager.get_by_role("button", name=words["create"]).click()  # no name, no instructions
    expect(manager.locator("#name-error")).to_have_text(words["needed"])
    expect(manager.get_by_label(words["project_name"])).to_have_attribute("aria-invalid", "true")
    assert_accessible(manager)
    manager.get_by_label(words["project_name"]).fill("Forum posts")
    manager.get_by_label(words["instructions"], exact=True).fill("Label each post: ok or spam.")
    manager.get_by_role("button", name=words["create"]).click()
    manager.wait_for_url(re.compile(r".*/ngo/projects/prj_[a-z0-9]+$"))
    project_url = manager.url
    expect(manager.get_by_role("heading", level=1)).to_have_text("Forum posts")
    assert_accessible(manager)
    folder = tmp_path_factory.mktemp("ngo-shots")
    manager.screenshot(path=str(folder / f"project-{size}-{lang}.png"), full_page=True)

    follow(manager.get_by_role("link", name=words["edit"]))
    assert_accessible(manager)
    manager.get_by_label(words["project_name"]).fill("Forum posts, round 2")
    manager.get_by_label(words["redundancy"]).fill("2")
    manager.screenshot(path=str(folder / f"form-{size}-{lang}.png"), full_page=True)
    manager.get_by_role("button", name=words["save"]).click()
    manager.wait_for_url(project_url)
    expect(manager.get_by_role("heading", level=1)).to_have_text("Forum posts, round 2")
    # From the keyboard: focus the button, Enter.
    manager.get_by_role("button", name=words["pause"]).focus()
    manager.keyboard.press("Enter")
    expect(manager.get_by_role("button", name=words["resume"])).to_be_visible()
    expect(manager.locator("dl.facts")).to_contain_text(words["paused"])
    assert_accessible(manager)

    viewer = _accept(browser.new_context(viewport=viewport), site, viewer_mail, "Vic", lang)
    follow(viewer.get_by_role("link", name="Forum posts, round 2"))
    assert_accessible(viewer)
    expect(viewer.locator("svg[role=img]").first).to_be_visible()
    expect(viewer.get_by_role("link", name=words["edit"])).to_have_count(0)
    expect(viewer.get_by_role("button", name=words["resume"])).to_have_count(0)
    viewer.screenshot(path=str(folder / f"viewer-{size}-{lang}.png"), full_page=True)
    refused = viewer.goto(project_url + "/edit")
    assert refused is not None and refused.status == 403
    assert_accessible(viewer)
    expect(viewer.get_by_role("heading", level=1)).to_have_text(words["forbidden"])
