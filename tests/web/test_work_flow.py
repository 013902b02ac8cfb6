"""The volunteer's way through the work pages in a real Chromium, at a phone's and a desktop's
size, in English and French, with axe-core on every page: join, the charter (asked by "Find
work"), find work, a task of each type (translation, data entry with an error beside its field,
moderation), submit then the next task, skip with a reason, find work again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.support.web import DESKTOP, PHONE, Site, assert_accessible
from tests.support.web_work import (
    NAMES,
    WorkScene,
    data_entry_payload,
    join_with_skill,
    moderation_payload,
    screenshot,
    translation_of,
    translation_payload,
)

SIZES: dict[str, ViewportSize] = {"phone": PHONE, "desktop": DESKTOP}
TASK_URL = re.compile(r"/work/a/[^/]+$")


def start(page: Page, project_name: str, words: dict[str, str]) -> None:
    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=project_name, exact=True)
    )
    card.get_by_role("button", name=words["Start"]).click()
    expect(page).to_have_url(TASK_URL)


@pytest.mark.timeout(300)  # a dozen pages, each checked by axe, on top of the site's start
@pytest.mark.parametrize(
    ("size", "lang"), [("phone", "en"), ("desktop", "fr"), ("phone", "fr"), ("desktop", "en")]
)
def test_join_charter_find_work_each_task_type_submit_next_skip(
    browser: Browser, site: Site, size: str, lang: str
) -> None:
    words = NAMES[lang]
    scene = WorkScene(site)
    # Priorities set the order "any task" follows once a project has nothing left for me.
    translation = scene.project(
        "translation", "Clinic posters", languages=["en", "fr"], priority=500
    )
    glossary = {"glossary": {"hands": "mains", "meal": "repas"}}  # the workbench marks them
    scene.tasks(
        translation, [{"payload": {**translation_payload(i), **glossary}} for i in range(2)]
    )
    entry = scene.project("data_entry", "Registration forms", priority=400)
    scene.tasks(entry, [{"payload": data_entry_payload(0)}])
    moderation = scene.project("moderation", "Forum posts", priority=300)
    scene.tasks(moderation, [{"payload": moderation_payload(0)}])

    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    join_with_skill(page, site, "Amina", scene.skill)

    # Find work asks for the charter first, then comes back.
    page.goto(site.url(f"/work?lang={lang}"))
    expect(page).to_have_url(re.compile(r"/charter\?next=/work$"))
    assert_accessible(page)
    page.get_by_role("button", name=words["charter"]).click()
    expect(page).to_have_url(re.compile(r"/work$"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert_accessible(page)
    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Clinic posters", exact=True)
    )
    expect(card).to_contain_text(words["Translation"])  # the type's name, not its id
    expect(card).to_contain_text("Your work helps families find the clinic.")
    expect(card).to_contain_text("3 minutes")  # no timed answer yet: the type's default
    expect(card).to_contain_text("2")  # tasks left

    # Translation: submit, then straight to the project's next task with "Saved" announced.
    start(page, "Clinic posters", words)
    first = page.url
    assert_accessible(page)
    expect(page.locator(".source")).to_have_attribute("lang", "en")
    expect(page.locator("mark.wb-term")).to_have_text(["hands", "meal"])
    answer = page.get_by_label(words["Your translation"])
    expect(answer).to_have_attribute("lang", "fr")
    expect(page.locator("#lease-left")).to_have_text(re.compile(r"^\d+:\d\d$"))  # the script
    if size == "phone" and lang == "en":
        screenshot(page, "task-translation-phone")
    answer.fill(translation_of(page))
    page.get_by_role("button", name=words["Submit"], exact=True).click()
    expect(page).to_have_url(TASK_URL)
    assert page.url != first
    expect(page.locator(".flash")).to_have_text(words["saved"])
    expect(page.locator("#live")).to_have_text(words["saved"])
    assert_accessible(page)

    # Skip: a reason is asked (none chosen: said beside the choices), then the next task.
    page.get_by_role("button", name=words["Skip"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/skip\??$"))
    assert_accessible(page)
    page.get_by_role("button", name=words["Skip"], exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(words["choose reason"])
    assert_accessible(page)
    page.get_by_label(words["not_my_language"]).check()
    page.get_by_label(words["Tell us more"]).fill("Medical words I do not know.")
    page.get_by_role("button", name=words["Skip"], exact=True).click()

    # No other translation for me: the next task comes from the next project (data entry).
    expect(page.locator(".flash")).to_have_text(words["skipped"])
    expect(page).to_have_url(TASK_URL)
    expect(page.get_by_role("heading", name="Registration forms", exact=True)).to_be_visible()

    # Data entry: a wrong e-mail is said beside its field; nothing typed is lost.
    assert_accessible(page)
    if size == "phone" and lang == "en":
        screenshot(page, "task-data-entry-phone")
    page.get_by_label("Full name").fill("Amina Diallo")
    page.get_by_label("Email address").fill("amina at example")
    page.get_by_label("arrival").fill("2024-03-05")
    page.get_by_label("status").select_option("new")
    page.get_by_role("button", name=words["Submit"], exact=True).click()
    email = page.get_by_label("Email address")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#field-1-error")).to_have_text(words["email error"])
    expect(page.get_by_label("Full name")).to_have_value("Amina Diallo")
    expect(email).to_have_value("amina at example")
    expect(page.get_by_label("arrival")).to_have_value("2024-03-05")
    expect(page.get_by_label("status")).to_have_value("new")
    assert_accessible(page)
    email.fill("amina@example.org")
    page.get_by_role("button", name=words["Submit"], exact=True).click()

    # Then moderation, "Saved" all the same.
    expect(page.locator(".flash")).to_have_text(words["saved"])
    expect(page).to_have_url(TASK_URL)
    expect(page.get_by_role("heading", name="Forum posts", exact=True)).to_be_visible()
    assert_accessible(page)
    expect(page.locator("#shortcuts")).to_be_visible()
    if size == "phone" and lang == "en":
        screenshot(page, "task-moderation-phone")
    page.get_by_label(words["Reasons"]).fill("advertising")
    page.get_by_role("button", name="spam", exact=True).click()
    expect(page.locator(".flash")).to_be_visible()

    # Find work again: the projects still want answers (from others), but none is left for me,
    # so they are not offered to me any more.
    page.goto(site.url("/work"))
    assert_accessible(page)
    counts = site.http.get(f"/v1/projects/{moderation}", headers=scene.headers).json()["counts"]
    assert counts["collecting"] == 1  # my answer is in
    for name in ("Forum posts", "Registration forms"):
        expect(page.get_by_role("heading", name=name, exact=True)).to_have_count(0)
    any_task = page.get_by_role("button", name=words["Any task"])
    if any_task.count():  # this worker's other tests left a project with a task for me
        any_task.click()
        expect(page).to_have_url(TASK_URL)
    else:
        expect(page.get_by_text(words["nothing left"])).to_be_visible()
    context.close()
