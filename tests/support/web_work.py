# ruff: noqa: RUF001 - French text, with its typographic apostrophes
"""Steps the work-page tests (tests/web/test_work_*.py) share: an NGO's projects of each task
type over the API, kept to the test's own volunteers by a skill of their own; joining with that
skill; the pages' names in English and French; moving through a page with the keyboard only;
screenshots for the docs (only with ``RUCHE_SCREENSHOTS`` set: ``make screenshots``).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page

from tests.support.web import ADMIN_TOKEN, Site

__all__ = [
    "NAMES",
    "WorkScene",
    "data_entry_payload",
    "join_with_skill",
    "keyboard_to",
    "moderation_payload",
    "screenshot",
    "translation_payload",
]

REPO = Path(__file__).resolve().parents[2]
#: Accessible names and messages the tests look for, per UI language.
NAMES: dict[str, dict[str, str]] = {
    "en": {
        "Start": "Start",
        "Any task": "Any task",
        "Submit": "Submit",
        "Skip": "Skip",
        "Next task": "Next task",
        "Your translation": "Your translation",
        "Reasons": "Reasons",
        "Tell us more": "Tell us more",
        "not_my_language": "It is not in my languages",
        "saved": "Saved. Here is your next task.",
        "saved_last": "Saved. There is no other task for you right now.",
        "skipped": "Skipped.",
        "charter": "I accept the charter",
        "Translation": "Translation",
        "Data entry": "Data entry",
        "Moderation": "Moderation",
        "not found": "There is nothing here.",
        "choose reason": "Please choose why you skip this task.",
        "email error": "Please write an e-mail address, such as name@example.org.",
        "ran out": "The time for this task ran out",
        "nothing now": "No task fits you right now. Please come back later.",
        "nothing left": "Nothing is left for you right now",
    },
    "fr": {
        "Start": "Commencer",
        "Any task": "N’importe quelle tâche",
        "Submit": "Envoyer",
        "Skip": "Passer",
        "Next task": "Tâche suivante",
        "Your translation": "Votre traduction",
        "Reasons": "Raisons",
        "Tell us more": "Dites-nous en plus",
        "not_my_language": "Ce n’est pas dans mes langues",
        "saved": "Enregistré. Voici votre tâche suivante.",
        "saved_last": "Enregistré. Il n’y a pas d’autre tâche pour vous pour l’instant.",
        "skipped": "Tâche passée.",
        "charter": "J’accepte la charte",
        "Translation": "Traduction",
        "Data entry": "Saisie de données",
        "Moderation": "Modération",
        "not found": "Il n’y a rien ici.",
        "choose reason": "Veuillez indiquer pourquoi vous passez cette tâche.",
        "email error": "Veuillez écrire une adresse e-mail, par exemple nom@example.org.",
        "ran out": "Le temps de cette tâche est écoulé",
        "nothing now": "Aucune tâche ne vous correspond pour le moment. Revenez plus tard.",
        "nothing left": "Il ne reste rien pour vous pour le moment",
    },
}


def translation_payload(i: int, target: str = "fr") -> dict[str, Any]:
    return {
        "source_text": f"Wash your hands before every meal ({i}).",
        "source_lang": "en",
        "target_lang": target,
        "context": "A poster in a health centre.",
    }


def data_entry_payload(i: int) -> dict[str, Any]:
    return {
        "document": {"text": f"Registration {i}\nName: Amina Diallo\nEmail: amina@example.org"},
        "fields": [
            {"name": "name", "type": "string", "label": "Full name"},
            {"name": "email", "type": "email", "label": "Email address"},
            {"name": "arrival", "type": "date", "required": False},
            {"name": "status", "type": "enum", "choices": ["new", "returning"]},
        ],
    }


def moderation_payload(i: int) -> dict[str, Any]:
    return {
        "content": f"Cheap watches!!! Visit www.example.com now ({i})",
        "labels": ["ok", "spam", "abuse"],
        "policy": "Advertising is spam; insults are abuse.",
    }


class WorkScene:
    """An organisation whose projects only this test's volunteers see (a skill of their own)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.skill = f"skill-{secrets.token_hex(4)}"
        # Site.org reads the key as "token"; the API names it "api_key" (API.md).
        made = site.http.post(
            "/v1/orgs",
            json={"name": f"NGO {secrets.token_hex(2)}", "contact_email": "staff@example.org"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert made.status_code == 201, made.text
        self.token = str(made.json()["api_key"])
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def project(self, task_type: str, name: str, **policy: Any) -> str:
        body = {
            "name": name,
            "task_type": task_type,
            "instructions": f"Please do this {task_type} task carefully.",
            "impact_note": "Your work helps families find the clinic.",
            "skills": [self.skill],
            "priority": 500,
            **policy,
        }
        made = self.site.http.post("/v1/projects", json=body, headers=self.headers)
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def tasks(self, project_id: str, items: list[dict[str, Any]]) -> None:
        sent = self.site.http.post(
            f"/v1/projects/{project_id}/tasks", json={"tasks": items}, headers=self.headers
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["accepted"] == len(items), sent.text

    def api_volunteer(self, languages: list[str]) -> dict[str, str]:
        """A volunteer through the API (charter accepted), with the scene's skill."""
        made = self.site.http.post(
            "/v1/volunteers",
            json={"display_name": "Api", "languages": languages, "skills": [self.skill]},
        )
        assert made.status_code == 201, made.text
        headers = {"Authorization": f"Bearer {made.json()['token']}"}
        accepted = self.site.http.post("/v1/me/charter", json={"accept": True}, headers=headers)
        assert accepted.status_code == 200, accepted.text
        return headers

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def join_with_skill(
    page: Page,
    site: Site,
    name: str,
    skill: str,
    languages: tuple[str, ...] = ("English", "French"),
) -> None:
    """Joins through /join in English, with the scene's skill."""
    page.goto(site.url("/join?lang=en"))
    page.get_by_label("Display name").fill(name)
    for language in languages:
        page.get_by_role("group", name="Languages").get_by_label(language, exact=True).check()
    page.get_by_label("Skills").fill(skill)
    page.get_by_role("button", name="Join").click()
    page.wait_for_url("**/welcome")


def keyboard_to(page: Page, target: Locator, limit: int = 120) -> None:
    """Presses Tab until ``target`` has the focus (as a keyboard user moves through a page)."""
    handle = target.element_handle()
    assert handle is not None
    for _ in range(limit):
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def screenshot(page: Page, name: str) -> None:
    """Saves the page (whole length) as docs/img/<name>.png, only when RUCHE_SCREENSHOTS is set
    (``make screenshots``), so a normal test run writes nothing into the repository."""
    if os.environ.get("RUCHE_SCREENSHOTS"):
        (REPO / "docs" / "img").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(REPO / "docs" / "img" / f"{name}.png"), full_page=True)


def translation_of(page: Page, text: str = "Lavez-vous les mains avant chaque repas") -> str:
    """A French translation of the task page's poster that keeps its number, as the
    workbench's checks want (a lost number holds the submit back)."""
    source = page.locator(".source").inner_text()
    number = re.search(r"\((\d+)\)", source)
    return f"{text} ({number.group(1)})." if number else f"{text}."
