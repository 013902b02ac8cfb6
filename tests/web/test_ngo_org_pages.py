"""The console's volunteers, delivery and keys pages in a real Chromium on a whole Ruche (with
its workers) and a real SMTP server: the owner sets the webhook to a real local HTTP receiver
(the secret shown once), sees the delivery of a published result and replays it (the receiver
gets it again, with the same webhook-id), creates an API key (shown once) and invites a manager;
the manager makes a project invitation-only, grants a reviewer, makes an invitation for it,
someone joins with it, and the manager downloads the contributor report and reads it with
Python's csv module. Phone and desktop, English and French, axe-core on every page."""

from __future__ import annotations

import csv
import re
import secrets
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.delivery import receiving
from tests.support.web import ADMIN_TOKEN, DESKTOP, PHONE, Site, assert_accessible, follow
from tests.support.web_work import moderation_payload

LINK = re.compile(r"https?://\S+/ngo/invitations/[A-Za-z0-9_-]+")
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "name": "Display name", "accept": "Accept the invitation", "people": "People",
        "email": "Email", "role": "Role", "send": "Send the invitation", "manager": "Manager",
        "delivery": "Delivery", "keys": "API keys", "volunteers": "Volunteers",
        "webhook": "Webhook address", "save_endpoint": "Save the endpoint",
        "new_key": "Create a new key", "delivered": "Delivered",
        "replay": "Replay the delivery of task {task}", "access": "Access and reviewers of {name}",
        "invitation_only": "Invitation only", "save_access": "Save who may work on it",
        "who": "Volunteer's e-mail address or id", "grant": "Grant review rights",
        "scope": "Invitation to", "uses": "How many people may join with it",
        "days": "Days until it expires", "make": "Make the invitation",
        "report": "Contributor report", "csv": "Download the report (CSV)", "used": "1 of 5",
    },
    "fr": {
        "name": "Nom affiché", "accept": "Accepter l’invitation", "people": "Personnes",
        "email": "E-mail", "role": "Rôle", "send": "Envoyer l’invitation",
        "manager": "Gestionnaire", "delivery": "Livraison", "keys": "Clés d’API",
        "volunteers": "Bénévoles", "webhook": "Adresse du webhook",
        "save_endpoint": "Enregistrer le point de réception", "new_key": "Créer une nouvelle clé",
        "delivered": "Livrée", "replay": "Renvoyer la livraison de la tâche {task}",
        "access": "Accès et relecteurs de {name}", "invitation_only": "Sur invitation seulement",
        "save_access": "Enregistrer qui peut y travailler",
        "who": "Adresse e-mail ou identifiant du bénévole", "grant": "Donner le droit de relire",
        "scope": "Invitation à", "uses": "Nombre de personnes qui peuvent s’inscrire avec",
        "days": "Jours avant son expiration", "make": "Créer l’invitation",
        "report": "Rapport des contributions", "csv": "Télécharger le rapport (CSV)",
        "used": "1 sur 5",
    },
}  # fmt: skip


def _until(check: Callable[[], Any], what: str, bound_s: float = 90.0) -> Any:
    """Polls ``check`` until it gives something (the workers run beside the test). The bound
    only stops a stuck run; nothing is measured."""
    give_up = time.monotonic() + bound_s
    while time.monotonic() < give_up:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def _accept(context: BrowserContext, site: Site, to: str, name: str, lang: str) -> Page:
    message: EmailMessage = site.mail.wait_for(to)
    found = LINK.search(message.get_content())
    assert found is not None
    page = context.new_page()
    page.goto(found.group(0) + f"?lang={lang}")
    page.get_by_label(WORDS[lang]["name"]).fill(name)
    page.get_by_role("button", name=WORDS[lang]["accept"]).click()
    page.wait_for_url(re.compile(r".*/ngo/orgs/org_[a-z0-9]+$"))
    return page


def _follow(page: Page, name: str, *, exact: bool = False) -> None:
    """Clicks the link and waits for the page it opens (axe runs on that page, not this one)."""
    follow(page.get_by_role("link", name=name, exact=exact))


def _volunteer(site: Site, name: str, skill: str) -> tuple[str, dict[str, str]]:
    made = site.http.post(
        "/v1/volunteers", json={"display_name": name, "languages": ["en"], "skills": [skill]}
    )
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    assert site.http.post("/v1/me/charter", json={"accept": True}, headers=headers).is_success
    return str(made.json()["id"]), headers


def _answer(site: Site, headers: dict[str, str]) -> str:
    claim = site.http.post("/v1/assignments", headers=headers)
    assert claim.status_code == 201, claim.text
    lease = claim.json()
    sent = site.http.post(
        f"/v1/assignments/{lease['id']}/submit", json={"answer": {"label": "spam"}}, headers=headers
    )
    assert sent.status_code == 202, sent.text
    return str(lease["task"]["id"])


@pytest.mark.parametrize(("size", "lang"), [("phone", "en"), ("desktop", "fr")])
def test_owner_delivery_and_keys_manager_volunteers_and_report(
    browser: Browser, site: Site, size: str, lang: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    words = WORDS[lang]
    viewport = PHONE if size == "phone" else DESKTOP
    folder = tmp_path_factory.mktemp("ngo-org-shots")
    contact = f"owner-{secrets.token_hex(4)}@example.org"
    made = site.http.post(
        "/v1/orgs",
        json={"name": f"Aide {lang}", "contact_email": contact},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert made.status_code == 201, made.text
    api = {"Authorization": f"Bearer {made.json()['api_key']}"}
    owner = _accept(browser.new_context(viewport=viewport), site, contact, "Olga", lang)

    with receiving() as receiver:
        # The webhook: set, its secret shown once.
        _follow(owner, words["delivery"], exact=True)
        assert_accessible(owner)
        owner.get_by_label(words["webhook"]).fill(receiver.url)
        owner.get_by_role("button", name=words["save_endpoint"]).click()
        secret = owner.locator("#webhook-secret")
        expect(secret).to_have_text(re.compile(r"^whsec_"))
        assert_accessible(owner)
        owner.screenshot(path=str(folder / f"delivery-{size}-{lang}.png"), full_page=True)
        owner.goto(site.url(f"/ngo/orgs/{made.json()['id']}/delivery"))
        expect(owner.locator("#webhook-secret")).to_have_count(0)

        # A result is published (two volunteers agree) and delivered; the owner replays it.
        skill = f"skill-{secrets.token_hex(4)}"
        project = site.http.post(
            "/v1/projects",
            json={
                "name": "Forum posts", "task_type": "moderation", "redundancy": 2,
                "skills": [skill], "instructions": "Label each post.",
            },
            headers=api,
        )  # fmt: skip
        assert project.status_code == 201, project.text
        project_id = project.json()["id"]
        sent = site.http.post(
            f"/v1/projects/{project_id}/tasks",
            json={"tasks": [{"payload": moderation_payload(1)}]},
            headers=api,
        )
        assert sent.json()["accepted"] == 1
        ada_id, ada = _volunteer(site, "Ada", skill)
        _, bob = _volunteer(site, "Bob", skill)
        task_id = _answer(site, ada)
        assert _answer(site, bob) == task_id
        _until(lambda: receiver.requests, "the result's delivery")
        owner.reload()
        expect(owner.get_by_role("cell", name=words["delivered"])).to_be_visible()
        # From the keyboard: focus the button, Enter.
        owner.get_by_role("button", name=words["replay"].format(task=task_id)).focus()
        owner.keyboard.press("Enter")
        expect(owner.locator(".flash")).to_be_visible()
        assert_accessible(owner)
        _until(lambda: len(receiver.requests) >= 2, "the replayed delivery")
        first, again = receiver.requests[:2]
        assert first.headers["webhook-id"] == again.headers["webhook-id"]
        assert first.body == again.body

    # An API key, shown once.
    _follow(owner, words["keys"], exact=True)
    assert_accessible(owner)
    owner.get_by_role("button", name=words["new_key"]).click()
    key = owner.locator("#new-api-key").inner_text()
    check = site.http.get("/v1/org", headers={"Authorization": f"Bearer {key}"})
    assert check.status_code == 200
    assert_accessible(owner)
    owner.screenshot(path=str(folder / f"keys-{size}-{lang}.png"), full_page=True)

    # A manager, invited by e-mail.
    _follow(owner, words["people"], exact=True)
    manager_mail = f"manager-{secrets.token_hex(4)}@example.org"
    owner.get_by_label(words["email"], exact=True).fill(manager_mail)
    owner.get_by_label(words["role"], exact=True).select_option(label=words["manager"])
    owner.get_by_role("button", name=words["send"]).click()
    manager = _accept(browser.new_context(viewport=viewport), site, manager_mail, "Mia", lang)
    expect(manager.get_by_role("link", name=words["delivery"], exact=True)).to_have_count(0)

    # The project becomes invitation-only; Ada reviews it (beside the staff from reviewer up,
    # who review every project of their organisation).
    staff_reviewers = site.http.get(f"/v1/projects/{project_id}/reviewers", headers=api)
    assert ada_id not in staff_reviewers.json()["items"]
    _follow(manager, words["volunteers"], exact=True)
    assert_accessible(manager)
    _follow(manager, words["access"].format(name="Forum posts"))
    assert_accessible(manager)
    manager.get_by_label(words["invitation_only"], exact=True).check()
    manager.get_by_role("button", name=words["save_access"]).click()
    expect(manager.get_by_label(words["invitation_only"], exact=True)).to_be_checked()
    manager.get_by_label(words["who"]).fill(ada_id)
    manager.get_by_role("button", name=words["grant"]).click()
    expect(manager.locator(".ngo-people")).to_contain_text("Ada")
    assert_accessible(manager)
    manager.screenshot(path=str(folder / f"access-{size}-{lang}.png"), full_page=True)
    reviewers = site.http.get(f"/v1/projects/{project_id}/reviewers", headers=api)
    assert sorted(reviewers.json()["items"]) == sorted([*staff_reviewers.json()["items"], ada_id])

    # An invitation to the project; someone joins with it.
    _follow(manager, words["volunteers"], exact=True)
    manager.get_by_label(words["scope"]).select_option(label="Forum posts")
    manager.get_by_label(words["uses"]).fill("5")
    manager.get_by_label(words["days"]).fill("7")
    manager.get_by_role("button", name=words["make"]).click()
    link = manager.locator("#invitation-link").inner_text()
    assert "/join?invite=" in link
    assert_accessible(manager)
    manager.screenshot(path=str(folder / f"volunteers-{size}-{lang}.png"), full_page=True)
    newcomer = browser.new_context(viewport=viewport).new_page()
    newcomer.goto(link + "&lang=en")
    assert_accessible(newcomer)
    newcomer.get_by_label("Display name").fill("Cleo")
    newcomer.get_by_role("group", name="Languages").get_by_label("English", exact=True).check()
    newcomer.get_by_role("button", name="Join").click()
    newcomer.wait_for_url("**/welcome")
    manager.reload()
    expect(manager.get_by_role("table")).to_contain_text(words["used"])

    # The contributor report, as CSV.
    _follow(manager, words["report"])
    assert_accessible(manager)

    def report_lists_both() -> bool:
        manager.reload()
        return manager.get_by_role("table").filter(has_text="Bob").count() == 1

    _until(report_lists_both, "the stats and insights of both answers")
    assert_accessible(manager)
    manager.screenshot(path=str(folder / f"report-{size}-{lang}.png"), full_page=True)
    with manager.expect_download() as downloading:
        manager.get_by_role("link", name=words["csv"]).click()
    path = downloading.value.path()
    with open(path, newline="", encoding="utf-8") as opened:
        rows = list(csv.DictReader(opened))
    assert sorted(row["volunteer"] for row in rows) == ["Ada", "Bob"]
    for row in rows:
        assert row["task_type"] == "moderation" and row["period"] == "all"
        assert row["answers"] == "1" and row["amount"] == "1" and row["unit"] == "items moderated"
        assert float(row["hours"]) >= 0
