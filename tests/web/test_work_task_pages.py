"""The task page's harder cases in a real Chromium: a lease that runs out while the page is open
(the typed text survives), another person's assignment (the same 404 as a random id),
practice items (the expected answer after Submit), a task a reviewer reopened (their comment
before answering), the live-assignment cap (my tasks in progress, with links back), and the
volunteer's flow with the keyboard alone."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.web import DESKTOP, PHONE, Site, assert_accessible
from tests.support.web_work import (
    NAMES,
    WorkScene,
    data_entry_payload,
    join_with_skill,
    keyboard_to,
    moderation_payload,
    translation_of,
    translation_payload,
)

EN = NAMES["en"]
TASK_URL = re.compile(r"/work/a/[^/]+$")
# The page's script reads visibilityState each time; this is what switching tabs does to it.
HIDE = """() => {
  Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW = """() => {
  Object.defineProperty(document, "visibilityState", {value: "visible", configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def volunteer(browser: Browser, site: Site, scene: WorkScene, name: str, *, phone: bool) -> Page:
    page = browser.new_context(viewport=PHONE if phone else DESKTOP).new_page()
    join_with_skill(page, site, name, scene.skill)
    page.goto(site.url("/charter?next=/work"))
    page.get_by_role("button", name=EN["charter"]).click()
    expect(page).to_have_url(re.compile(r"/work$"))
    return page


def start(page: Page, project_name: str) -> None:
    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=project_name, exact=True)
    )
    card.get_by_role("button", name=EN["Start"]).click()
    expect(page).to_have_url(TASK_URL)


@pytest.mark.timeout(300)  # a real lease of 45 s runs out, on top of the site's start
def test_a_lease_running_out_while_the_page_is_open_loses_nothing_typed(
    browser: Browser, site: Site
) -> None:
    scene = WorkScene(site)
    # 45 s: above the API's minimum lease (30 s), long enough to hear "30 seconds left".
    project = scene.project("translation", "Short leases", languages=["en", "fr"], lease_seconds=45)
    scene.tasks(project, [{"payload": translation_payload(i)} for i in range(2)])
    page = volunteer(browser, site, scene, "Rania", phone=True)
    start(page, "Short leases")
    typed = "Lavez-vous les mains avant\nchaque repas."
    page.get_by_label(EN["Your translation"]).fill(typed)
    page.evaluate(HIDE)  # the person switches to another tab: no more heartbeats

    expect(page.locator("#live")).to_have_text("30 seconds left for this task.", timeout=40_000)
    over = "The time for this task ran out. Your text stays on this page."
    expect(page.locator("#lease")).to_have_text(over, timeout=40_000)
    expect(page.locator("#live")).to_have_text(over)
    page.evaluate(SHOW)  # back on the tab: the heartbeat hears that the lease is over
    expect(page.locator("#lease")).to_have_text(over)

    page.get_by_role("button", name=EN["Submit"], exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(EN["ran out"])
    expect(page.get_by_label(EN["Your translation"])).to_have_value(typed)
    assert_accessible(page)
    page.get_by_role("button", name=EN["Next task"]).click()
    expect(page).to_have_url(TASK_URL)
    expect(page.locator(".source")).to_contain_text("(1)")  # the project's other task


def test_an_answer_sent_while_offline_is_kept_then_sent_when_the_connection_returns(
    browser: Browser, site: Site
) -> None:
    scene = WorkScene(site)
    project = scene.project("moderation", "Patchy network", redundancy=1)
    scene.tasks(project, [{"payload": moderation_payload(i)} for i in range(2)])
    page = volunteer(browser, site, scene, "Kofi", phone=True)
    start(page, "Patchy network")
    task_url = page.url
    note = page.locator("#offline-note")
    expect(note).to_be_hidden()

    page.context.set_offline(True)
    page.get_by_label(EN["Reasons"]).fill("advertising")
    page.get_by_role("button", name="spam", exact=True).click()
    expect(note).to_be_visible()
    expect(page.locator("#live")).to_contain_text("You are offline.")
    assert page.url == task_url  # nothing sent, nothing lost
    expect(page.get_by_label(EN["Reasons"])).to_have_value("advertising")
    assert_accessible(page)
    counts = site.http.get(f"/v1/projects/{project}", headers=scene.headers).json()["counts"]
    assert (counts["collecting"], counts["open"]) == (1, 1), counts  # held, not answered

    page.context.set_offline(False)  # the connection returns: the answer goes, the next comes
    expect(page.locator(".flash")).to_have_text(EN["saved"])
    expect(page).to_have_url(TASK_URL)
    assert page.url != task_url
    answered = site.http.get(f"/v1/projects/{project}", headers=scene.headers).json()["counts"]
    # The first task has its one answer; the second is the one now on my page.
    assert (answered["collecting"], answered["open"]) == (1, 0), answered


def test_another_persons_assignment_is_the_same_404_as_a_random_id(
    browser: Browser, site: Site
) -> None:
    scene = WorkScene(site)
    project = scene.project("moderation", "Private posts")
    scene.tasks(project, [{"payload": moderation_payload(0)}])
    owner = volunteer(browser, site, scene, "Owner", phone=False)
    start(owner, "Private posts")
    theirs = owner.url
    other = volunteer(browser, site, scene, "Other", phone=True)

    seen = []
    for url in (theirs, theirs.rsplit(".", 1)[0] + ".notarealtoken", site.url("/work/a/nothing")):
        response = other.goto(url)
        assert response is not None
        assert response.status == 404
        expect(other.get_by_role("heading", level=1)).to_have_text(EN["not found"])
        seen.append(other.locator("main").inner_text())
        for path in ("/skip", "/practice"):
            assert other.request.get(url + path).status == 404
    assert seen[0] == seen[1] == seen[2]
    assert_accessible(other)
    assert "Cheap watches" not in other.content()
    # Their heartbeat too: a JSON 404, the lease untouched.
    token = other.evaluate("() => fetch('/work').then(r => r.text())")
    assert "csrf_token" in token
    beat = other.request.post(theirs + "/heartbeat", headers={"X-CSRF-Token": "forged"})
    assert beat.status in (403, 404)
    owner.reload()
    expect(owner.locator(".content")).to_contain_text("Cheap watches")


def test_practice_items_show_the_expected_answer_and_then_the_real_tasks_come(
    browser: Browser, site: Site
) -> None:
    scene = WorkScene(site)
    project = scene.project(
        "moderation",
        "Practice first",
        qualification={"gold_tasks": 2, "pass_rate": 0.5, "cooldown_seconds": 0},
    )
    why = "Advertising a shop is spam, whatever the words."
    scene.tasks(
        project,
        [
            {
                "payload": moderation_payload(i),
                "gold_answer": {"label": "spam"},
                "gold_explanation": why,
            }
            for i in (1, 2)
        ]
        + [{"payload": moderation_payload(3)}],
    )
    page = volunteer(browser, site, scene, "Learner", phone=True)
    start(page, "Practice first")
    expect(page.get_by_role("heading", name="Practice item")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="ok", exact=True).click()

    expect(page).to_have_url(re.compile(r"/practice$"))
    expect(page.locator(".flash")).to_have_text(
        "Your answer differs from the expected one. Compare them below."
    )
    expected = page.get_by_role("region", name="Expected answer")
    expect(expected).to_contain_text("spam")
    expect(page.get_by_role("region", name="Your answer")).to_contain_text("ok")
    expect(page.get_by_role("region", name="Explanation")).to_contain_text(why)
    expect(page.get_by_text("Practice items answered: 1 of 2.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name=EN["Next task"]).click()

    page.get_by_role("button", name="spam", exact=True).click()
    expect(page.locator(".flash")).to_have_text("Well done: your answer matches the expected one.")
    expect(page.get_by_text("You passed the practice")).to_be_visible()
    page.get_by_role("button", name=EN["Next task"]).click()
    expect(page).to_have_url(TASK_URL)
    expect(page.locator(".content")).to_contain_text("(3)")  # the real task
    expect(page.get_by_role("heading", name="Practice item")).to_have_count(0)
    # Practice answers count for nothing: the real task has no answer yet.
    counts = site.http.get(f"/v1/projects/{project}", headers=scene.headers).json()["counts"]
    assert counts["open"] + counts["collecting"] == 1
    assert counts["aggregating"] == counts["resolved"] == 0


@pytest.mark.timeout(300)  # the workers aggregate, on top of the site's start
def test_a_reopened_task_shows_the_reviewers_comment_before_answering(
    browser: Browser, site: Site
) -> None:
    scene = WorkScene(site)
    project = scene.project("translation", "Reopened texts", languages=["en", "fr"], redundancy=2)
    scene.tasks(project, [{"payload": translation_payload(7)}])
    for text in ("Lavez-vous les mains avant chaque repas.", "Le chat dort sur le canapé bleu."):
        answerer = scene.api_volunteer(["en", "fr"])
        claimed = site.http.post("/v1/assignments", json={"project_id": project}, headers=answerer)
        assert claimed.status_code == 201, claimed.text
        sent = site.http.post(
            f"/v1/assignments/{claimed.json()['id']}/submit",
            json={"answer": {"text": text}},
            headers=answerer,
        )
        assert sent.status_code == 202, sent.text
    reviewer = scene.api_volunteer(["en", "fr"])
    me = site.http.get("/v1/me", headers=reviewer).json()
    granted = site.http.post(
        f"/v1/projects/{project}/reviewers",
        json={"volunteer_id": me["id"]},
        headers=scene.headers,
    )
    assert granted.status_code == 201, granted.text
    item = None
    for _ in range(100):  # the workers aggregate the two answers, which disagree: a review
        claimed_review = site.http.post(
            "/v1/reviews", json={"project_id": project}, headers=reviewer
        )
        if claimed_review.status_code == 201:
            item = claimed_review.json()
            break
        time.sleep(0.2)
    assert item is not None, "the disagreement never reached review"
    comment = 'Both miss the word "meal"; keep it short.'
    decided = site.http.post(
        f"/v1/reviews/{item['id']}/decision",
        json={"action": "reopen", "comment": comment},
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text

    page = volunteer(browser, site, scene, "Third", phone=True)
    start(page, "Reopened texts")
    notice = page.get_by_role("region", name="A reviewer reopened this task")
    expect(notice).to_contain_text(comment)
    assert_accessible(page)


def test_at_the_cap_of_live_tasks_the_page_lists_them_with_links_back(
    browser: Browser, site: Site
) -> None:
    scene = WorkScene(site)
    project = scene.project("data_entry", "Many forms")
    scene.tasks(project, [{"payload": data_entry_payload(i)} for i in range(12)])
    page = volunteer(browser, site, scene, "Busy", phone=True)
    held = []
    for _ in range(20):
        page.goto(site.url("/work"))
        start_button = page.get_by_role("button", name=EN["Any task"])
        start_button.click()
        if not TASK_URL.search(page.url):
            break
        held.append(page.url)
    assert held, "no task was served"
    expect(page.get_by_role("alert")).to_contain_text("You already hold as many tasks")
    links = page.get_by_role("link", name="Continue")
    expect(links).to_have_count(len(held))
    assert_accessible(page)
    links.first.click()
    expect(page).to_have_url(TASK_URL)
    assert page.url in held


def test_the_volunteer_flow_with_the_keyboard_alone(browser: Browser, site: Site) -> None:
    scene = WorkScene(site)
    moderation = scene.project("moderation", "Keyboard posts", priority=500)
    scene.tasks(moderation, [{"payload": moderation_payload(i)} for i in range(2)])
    translation = scene.project(
        "translation", "Keyboard texts", languages=["en", "fr"], priority=400
    )
    scene.tasks(translation, [{"payload": translation_payload(i)} for i in range(2)])
    page = browser.new_context(viewport=DESKTOP).new_page()
    join_with_skill(page, site, "Keys", scene.skill)
    page.goto(site.url("/work"))  # the charter first

    keyboard_to(page, page.get_by_role("button", name=EN["charter"]))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/work$"))
    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Keyboard posts", exact=True)
    )
    keyboard_to(page, card.get_by_role("button", name=EN["Start"]))
    page.keyboard.press("Enter")
    expect(page).to_have_url(TASK_URL)

    # Moderation: the number keys press the label buttons (shown on the page).
    expect(page.locator("#shortcuts")).to_contain_text("2 spam")
    page.keyboard.press("2")
    expect(page.locator(".flash")).to_have_text(EN["saved"])
    expect(page.locator(".content")).to_contain_text("(1)")

    # Skip with Space on a reason and Enter on the button.
    keyboard_to(page, page.get_by_role("button", name=EN["Skip"], exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/skip\??$"))
    # Tab enters the group of reasons on its first choice (arrows would move within it).
    keyboard_to(page, page.get_by_label("It is too hard for me"))
    page.keyboard.press("Space")
    expect(page.get_by_label("It is too hard for me")).to_be_checked()
    keyboard_to(page, page.get_by_role("button", name=EN["Skip"], exact=True))
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_have_text(EN["skipped"])

    # The next project's translation: type, Tab to Submit, Enter.
    expect(page.get_by_role("heading", name="Keyboard texts", exact=True)).to_be_visible()
    keyboard_to(page, page.get_by_label(EN["Your translation"]))
    page.keyboard.type(translation_of(page, "Lavez-vous les mains"))
    keyboard_to(page, page.get_by_role("button", name=EN["Submit"], exact=True))
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_have_text(EN["saved"])
    expect(page.get_by_role("heading", name="Keyboard texts", exact=True)).to_be_visible()
    assert_accessible(page)


def test_a_right_to_left_target_language_gets_its_direction(browser: Browser, site: Site) -> None:
    scene = WorkScene(site)
    project = scene.project("translation", "Arabic posters", languages=["en", "ar"])
    scene.tasks(project, [{"payload": translation_payload(0, target="ar")}])
    page = browser.new_context(viewport=PHONE).new_page()
    join_with_skill(page, site, "Samir", scene.skill, languages=("English", "Arabic"))
    page.goto(site.url("/charter?next=/work&lang=fr"))
    page.get_by_role("button", name=NAMES["fr"]["charter"]).click()
    start_fr = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Arabic posters", exact=True)
    )
    start_fr.get_by_role("button", name=NAMES["fr"]["Start"]).click()
    expect(page).to_have_url(TASK_URL)
    expect(page.locator(".source")).to_have_attribute("dir", "ltr")
    answer = page.get_by_label(NAMES["fr"]["Your translation"])
    expect(answer).to_have_attribute("dir", "rtl")
    expect(answer).to_have_attribute("lang", "ar")
    expect(page.locator("#text-hint")).to_have_text("Vers : Arabe.")
    assert_accessible(page)
