"""The reviewer's pages in a real Chromium, on a whole Ruche (``ruche up``): an NGO's project
over the API, volunteers who answer differently through the API, the real workers aggregating
their answers into review items, then a reviewer who signs in with their volunteer key and
decides with the keyboard alone (keys 1…n, c, r, x, Tab and Enter; never the mouse).

What each decision became is read back through the API: the project's results, and the
feedback (with the reviewer's comment) in ``GET /v1/me`` of the volunteers who answered.
axe-core checks every page in English and French, at a phone's and a desktop's size.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from tests.support.web import DESKTOP, PHONE, Site, assert_accessible

SIZES: dict[str, ViewportSize] = {"phone": PHONE, "desktop": DESKTOP}
#: Where the screenshots go, to be looked at (``RUCHE_SCREENSHOTS``, else the system's temp).
SCREENSHOTS = Path(os.environ.get("RUCHE_SCREENSHOTS") or tempfile.gettempdir()) / "ruche-review"
#: Bounds of the polls on what the workers do in the background (aggregating, settling).
WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Volunteer:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def volunteer(site: Site, languages: tuple[str, ...] = ("en", "fr")) -> Volunteer:
    made = site.http.post(
        "/v1/volunteers",
        json={"display_name": f"Vol {secrets.token_hex(2)}", "languages": list(languages)},
    )
    assert made.status_code == 201, made.text
    person = Volunteer(made.json()["id"], made.json()["token"])
    accepted = site.http.post("/v1/me/charter", json={"accept": True}, headers=person.headers)
    assert accepted.status_code == 200, accepted.text
    return person


def answer(site: Site, person: Volunteer, project_id: str, given: dict[str, Any]) -> None:
    claimed = site.http.post(
        "/v1/assignments", json={"project_id": project_id}, headers=person.headers
    )
    assert claimed.status_code == 201, claimed.text
    sent = site.http.post(
        f"/v1/assignments/{claimed.json()['id']}/submit",
        json={"answer": given},
        headers=person.headers,
    )
    assert sent.status_code == 202, sent.text


def poll(what: str, found: Callable[[], Any]) -> Any:
    """``found()`` once it is truthy, within :data:`WAIT_SECONDS` (the workers' pace)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {WAIT_SECONDS}s")


@dataclass(frozen=True)
class InReview:
    project_id: str
    org_token: str
    answerers: list[Volunteer]
    reviewer: Volunteer


def in_review(
    site: Site,
    task_type: str,
    payload: dict[str, Any],
    answers: list[dict[str, Any]],
    **policy: Any,
) -> InReview:
    """A project of a new NGO with one task, answered by ``len(answers)`` volunteers as given;
    once the workers sent it to review, a reviewer granted rights on it."""
    _, org_token = site.org()
    project_id = site.project(
        org_token, task_type, redundancy=len(answers), languages=["en", "fr"], **policy
    )
    site.tasks(org_token, project_id, [payload])
    answerers = [volunteer(site) for _ in answers]
    for person, given in zip(answerers, answers, strict=True):
        answer(site, person, project_id, given)
    org = {"Authorization": f"Bearer {org_token}"}

    def waiting() -> bool:
        read = site.http.get(f"/v1/projects/{project_id}", headers=org)
        return bool(read.json()["counts"]["in_review"] == 1)

    poll("the task goes to review", waiting)
    reviewer = volunteer(site)
    granted = site.http.post(
        f"/v1/projects/{project_id}/reviewers", json={"volunteer_id": reviewer.id}, headers=org
    )
    assert granted.status_code == 201, granted.text
    return InReview(project_id, org_token, answerers, reviewer)


def sign_in(page: Page, site: Site, person: Volunteer, lang: str = "en") -> None:
    """Signs in on /login with the volunteer key, keyboard only."""
    page.goto(site.url(f"/login?lang={lang}&next=/review"))
    field = page.locator("#code")
    tab_to(page, field)
    page.keyboard.type(person.token)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/review$"))


def tab_to(page: Page, target: Locator, most: int = 80) -> None:
    """Presses Tab until ``target`` has the focus (as a keyboard user reaches a control)."""
    handle = target.element_handle()
    assert handle is not None
    for _ in range(most):
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError("the control was not reached with Tab")


def results(site: Site, scene: InReview) -> list[dict[str, Any]]:
    read = site.http.get(
        f"/v1/projects/{scene.project_id}/results",
        headers={"Authorization": f"Bearer {scene.org_token}"},
    )
    assert read.status_code == 200, read.text
    return list(read.json()["items"])


def feedback(site: Site, person: Volunteer) -> list[dict[str, Any]]:
    me = site.http.get("/v1/me", headers=person.headers)
    assert me.status_code == 200, me.text
    return list(me.json()["feedback"])


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


TRANSLATION = {
    "source_text": "Wash your hands before every meal.",
    "source_lang": "en",
    "target_lang": "fr",
}
FIRST = {"text": "Lavez-vous les mains avant chaque repas."}
SECOND = {"text": "Lavez vos mains avant tous les repas, s'il vous plaît."}


def test_a_reviewer_accepts_a_translation_with_a_key_and_the_comment_reaches_the_volunteers(
    browser: Browser, site: Site
) -> None:
    scene = in_review(site, "translation", TRANSLATION, [FIRST, SECOND], review={"agreement": 0.99})
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, site, scene.reviewer)
    expect(page.get_by_text("1 item waits for you in your projects.")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Review next"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/review/prj_"))
    expect(page.get_by_role("heading", name="Review an item")).to_be_visible()
    # The shortcuts are listed, and the diff says in words what colour shows.
    expect(page.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    expect(page.locator("#diff-legend")).to_contain_text("struck-through words")
    expect(page.locator("article ins").first).to_be_visible()
    expect(page.locator("article del").first).to_be_visible()
    # Each "Accept" is told apart by the answer it accepts.
    accept_second = page.get_by_role("button", name="Accept").nth(1)
    expect(accept_second).to_have_accessible_description(re.compile(r"^Answer 2\b"))
    assert_accessible(page)
    shot(page, "review-translation-phone")

    tab_to(page, page.get_by_label("Comment for the volunteers"))
    page.keyboard.type("Both are right; the second is closer to our style.")
    page.keyboard.press("2")  # typing: a 2 in the comment, not a decision
    expect(page).to_have_url(re.compile(r"/review/prj_"))
    page.keyboard.press("Backspace")
    page.keyboard.press("Tab")  # out of the field: now the keys decide
    page.keyboard.press("2")
    expect(page).to_have_url(re.compile(r"/review$"))
    expect(page.locator(".flash")).to_have_text("Decision saved.")
    expect(page.get_by_text("Nothing waits for review")).to_be_visible()

    [result] = poll("the result", lambda: results(site, scene))
    assert (result["answer"], result["method"]) == (SECOND, "review")
    for person in scene.answerers:
        [item] = poll("the feedback", partial(feedback, site, person))
        assert item["comment"] == "Both are right; the second is closer to our style."
    # The accepted answer's author is upheld (the other one too when close enough to it).
    assert feedback(site, scene.answerers[1])[0]["outcome"] == "upheld"


DATA_ENTRY = {
    "document": {"text": "Donor: Ada Lovelace - 12/03/2024 - ada@example.org"},
    "fields": [
        {"name": "donor", "type": "string", "label": "Donor"},
        {"name": "date", "type": "date", "label": "Date"},
        {"name": "email", "type": "email", "label": "Email", "required": False},
    ],
}


def test_a_reviewer_corrects_a_record_with_the_keyboard_and_sees_errors_by_their_fields(
    browser: Browser, site: Site
) -> None:
    scene = in_review(
        site,
        "data_entry",
        DATA_ENTRY,
        [
            {"values": {"donor": "Ada Lovelace", "date": "12/03/2024", "email": "ada@example.org"}},
            {"values": {"donor": "Ada Lovelace", "date": "13/03/2024", "email": None}},
        ],
    )
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, site, scene.reviewer, lang="fr")
    tab_to(page, page.get_by_role("button", name="Relire le suivant"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/review/prj_"))
    # The table marks the fields that differ in words, not only in colour.
    expect(page.locator("tr.differs")).to_have_count(2)
    expect(page.locator("tr.differs th .tag").first).to_have_text("diffère")
    assert_accessible(page)
    shot(page, "review-data-entry-desktop-fr")

    page.keyboard.press("c")  # to the correction's first field
    expect(page.get_by_label("Donor")).to_be_focused()
    tab_to(page, page.get_by_label("Email"))  # past the date, pre-filled from an answer
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("ada@")
    page.keyboard.press("Enter")  # Enter in a correction field corrects
    error = page.locator("#field-2-error")
    expect(error).to_have_text("Veuillez saisir une adresse électronique, comme nom@exemple.org.")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email")).to_have_accessible_description(re.compile("adresse"))
    assert_accessible(page)
    shot(page, "review-data-entry-error-desktop-fr")

    tab_to(page, page.get_by_label("Email"))
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("ada@example.org")
    tab_to(page, page.get_by_role("button", name="Corriger", exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/review$"))
    expect(page.locator(".flash")).to_have_text("Décision enregistrée.")
    [result] = poll("the result", lambda: results(site, scene))
    assert result["answer"]["values"]["email"] == "ada@example.org"
    assert result["answer"]["values"]["donor"] == "Ada Lovelace"


MODERATION = {
    "content": "Cheap watches!!! Visit www.example.com now",
    "labels": ["ok", "spam", "abuse"],
    "policy": "Advertising is spam; insults are abuse.",
}


def test_a_reviewer_reopens_a_spot_checked_label_and_rejects_another_with_keys(
    browser: Browser, site: Site
) -> None:
    # Two agreeing answers, sampled for a spot check; room for a third answer (reopen).
    scene = in_review(
        site,
        "moderation",
        MODERATION,
        [{"label": "spam"}, {"label": "spam"}],
        max_redundancy=3,
        review={"spot_check_rate": 1.0, "agreement": 0.9},
    )
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, site, scene.reviewer, lang="fr")
    tab_to(page, page.get_by_role("button", name="Relire le suivant"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("table", name="Réponses par étiquette")).to_be_visible()
    tallies = page.get_by_role("table", name="Réponses par étiquette").get_by_role("row")
    expect(tallies.filter(has_text="spam")).to_contain_text("2")
    expect(page.locator(".confidence")).to_contain_text("%")
    assert_accessible(page)
    shot(page, "review-moderation-phone-fr")

    tab_to(page, page.get_by_label("Commentaire pour les bénévoles"))
    page.keyboard.type("Est-ce bien de la publicité ? Regardez le lien.")
    page.keyboard.press("r")  # typed into the comment
    page.keyboard.press("Backspace")
    page.keyboard.press("Tab")
    page.keyboard.press("r")
    expect(page).to_have_url(re.compile(r"/review$"))
    expect(page.locator(".flash")).to_have_text("Décision enregistrée.")
    for person in scene.answerers:
        [item] = poll("the feedback", partial(feedback, site, person))
        assert (item["outcome"], item["comment"]) == (
            "reopened",
            "Est-ce bien de la publicité ? Regardez le lien.",
        )

    # A third volunteer answers; the spot check comes back and this time x rejects it.
    third = volunteer(site)
    answer(site, third, scene.project_id, {"label": "ok"})
    org = {"Authorization": f"Bearer {scene.org_token}"}
    poll(
        "the task back in review",
        lambda: (
            site.http.get(f"/v1/projects/{scene.project_id}", headers=org).json()["counts"][
                "in_review"
            ]
            == 1
        ),
    )
    page.goto(site.url("/review"))
    tab_to(page, page.get_by_role("button", name="Relire le suivant"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Accepter")).to_have_count(3)
    page.keyboard.press("x")
    expect(page).to_have_url(re.compile(r"/review$"))
    [result] = poll("the result", lambda: results(site, scene))
    assert (result["answer"], result["method"]) == (None, "rejected")


@pytest.mark.parametrize(("lang", "size"), [("en", "desktop"), ("fr", "phone")])
def test_someone_elses_item_is_the_404_of_a_random_id_and_a_decided_one_offers_the_next(
    browser: Browser, site: Site, lang: str, size: str
) -> None:
    scene = in_review(site, "translation", TRANSLATION, [FIRST, SECOND], review={"agreement": 0.99})
    owner = browser.new_context(viewport=SIZES[size]).new_page()
    sign_in(owner, site, scene.reviewer, lang=lang)
    assert_accessible(owner)  # the queue
    shot(owner, f"review-queue-{size}-{lang}")
    owner.locator("form[action='/review/next'] button").click()
    expect(owner).to_have_url(re.compile(r"/review/prj_"))
    item_url = owner.url

    other = volunteer(site)
    site.http.post(
        f"/v1/projects/{scene.project_id}/reviewers",
        json={"volunteer_id": other.id},
        headers={"Authorization": f"Bearer {scene.org_token}"},
    )
    intruder = browser.new_context(viewport=SIZES[size]).new_page()
    sign_in(intruder, site, other, lang=lang)
    assert_accessible(intruder)  # the queue, with nothing left for this reviewer
    theirs = intruder.goto(item_url)
    random = intruder.goto(site.url(f"/review/{scene.project_id}.t0000000001.r" + "a" * 26))
    assert theirs is not None and random is not None
    assert theirs.status == random.status == 404
    main = intruder.locator("main")
    expect(main).to_contain_text(
        "Il n\u2019y a rien ici." if lang == "fr" else "There is nothing here."
    )
    assert_accessible(intruder)

    owner.locator("form#decide button[name=action][value=reject]").click()
    expect(owner).to_have_url(re.compile(r"/review$"))
    assert_accessible(owner)  # the queue with its "decided" message
    ended = owner.goto(item_url)
    assert ended is not None and ended.status == 409
    expect(owner.locator("h1")).to_have_text(
        "Cette relecture est terminée" if lang == "fr" else "This review is over"
    )
    assert_accessible(owner)
    shot(owner, f"review-ended-{size}-{lang}")


@pytest.mark.parametrize(("lang", "size"), [("en", "phone"), ("fr", "desktop")])
def test_without_review_rights_the_page_explains(
    browser: Browser, site: Site, lang: str, size: str
) -> None:
    page = browser.new_context(viewport=SIZES[size]).new_page()
    sign_in(page, site, volunteer(site), lang=lang)
    explanation = (
        "Vous ne relisez encore aucun projet."
        if lang == "fr"
        else "You do not review any project yet."
    )
    expect(page.get_by_text(explanation)).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)
    assert_accessible(page)


@pytest.mark.parametrize(("lang", "size"), [("en", "desktop"), ("fr", "phone")])
def test_the_item_page_of_each_type_passes_axe(
    browser: Browser, site: Site, lang: str, size: str
) -> None:
    scenes = [
        in_review(site, "translation", TRANSLATION, [FIRST, SECOND], review={"agreement": 0.99}),
        in_review(
            site,
            "data_entry",
            DATA_ENTRY,
            [
                {"values": {"donor": "Ada", "date": "12/03/2024", "email": None}},
                {"values": {"donor": "Ida", "date": "12/03/2024", "email": None}},
            ],
        ),
        in_review(site, "moderation", MODERATION, [{"label": "spam"}, {"label": "ok"}]),
    ]
    for scene in scenes:
        page = browser.new_context(viewport=SIZES[size]).new_page()
        sign_in(page, site, scene.reviewer, lang=lang)
        page.locator("form[action='/review/next'] button").click()
        expect(page).to_have_url(re.compile(r"/review/prj_"))
        assert_accessible(page)
        page.context.close()
