"""The translation workbench on a real task page: the glossary marked in the source, a similar
result of the same project offered, and the checks that hold back a translation that lost a
number until the volunteer says "Submit anyway"."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, expect

from tests.support.web import PHONE, Site, assert_accessible
from tests.support.web_work import NAMES, WorkScene, join_with_skill

EN = NAMES["en"]


def _payload(i: int) -> dict[str, object]:
    return {
        "source_text": f"Wash your hands before every meal, {i} times a day.",
        "source_lang": "en",
        "target_lang": "fr",
        "context": "A poster in a health centre.",
        "glossary": {"hands": "mains"},
    }


@pytest.mark.timeout(300)
def test_the_workbench_marks_the_glossary_offers_a_past_result_and_checks_the_numbers(
    browser: Browser, site: Site
) -> None:
    scene = WorkScene(site)
    name = "Workbench posters"
    project_id = scene.project("translation", name, redundancy=2, languages=["en", "fr"])
    scene.tasks(project_id, [{"payload": _payload(1)}])
    # Two volunteers agree on the first poster: a result of the project, for the memory.
    for _ in range(2):
        headers = scene.api_volunteer(["en", "fr"])
        claimed = site.http.post(
            "/v1/assignments", json={"project_id": project_id}, headers=headers
        )
        assert claimed.status_code == 201, claimed.text
        sent = site.http.post(
            f"/v1/assignments/{claimed.json()['id']}/submit",
            json={"answer": {"text": "Lavez-vous les mains avant chaque repas, 1 fois par jour."}},
            headers=headers,
        )
        assert sent.status_code == 202, sent.text
    deadline = time.monotonic() + 60
    while not site.http.get(f"/v1/projects/{project_id}/results", headers=scene.headers).json()[
        "items"
    ]:
        assert time.monotonic() < deadline, "no result for the first poster"
        time.sleep(0.3)
    scene.tasks(project_id, [{"payload": _payload(3)}])

    page = browser.new_context(viewport=PHONE).new_page()
    join_with_skill(page, site, "Wen", scene.skill)
    page.goto(site.url("/charter?next=/work"))
    page.get_by_role("button", name=EN["charter"]).click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=name))
    card.get_by_role("button", name=EN["Start"]).click()
    expect(page).to_have_url(re.compile(r"/work/a/[^/]+$"))

    expect(page.locator("mark.wb-term")).to_have_text("hands")
    memory = page.get_by_role("region", name="Similar past translations")
    expect(memory).to_contain_text("Lavez-vous les mains avant chaque repas, 1 fois par jour.")
    memory.get_by_role("button", name="Use this translation").click()
    field = page.get_by_label("Your translation")
    expect(field).to_have_value("Lavez-vous les mains avant chaque repas, 1 fois par jour.")
    assert_accessible(page)

    page.get_by_role("button", name="Submit", exact=True).click()  # the 3 became a 1
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("3")
    expect(field).to_have_value("Lavez-vous les mains avant chaque repas, 1 fois par jour.")
    assert_accessible(page)
    page.get_by_role("button", name="Submit anyway").click()
    expect(page.locator(".flash")).to_be_visible()

    # The NGO turns the memory off (a confidential project): no past result is shown any more,
    # though the new poster is as close to the first as the last one was.
    off = site.http.patch(
        f"/v1/projects/{project_id}", json={"translation_memory": False}, headers=scene.headers
    )
    assert off.status_code == 200 and off.json()["translation_memory"] is False, off.text
    scene.tasks(project_id, [{"payload": _payload(5)}])
    page.goto(site.url("/work"))
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=name))
    card.get_by_role("button", name=EN["Start"]).click()
    expect(page).to_have_url(re.compile(r"/work/a/[^/]+$"))
    expect(page.get_by_label("Your translation")).to_be_visible()
    deadline = time.monotonic() + 30  # another process may hold the project for a second more
    while page.get_by_role("region", name="Similar past translations").count():
        assert time.monotonic() < deadline, "the memory is still shown"
        page.reload()
    expect(page.locator(".wb-source")).to_contain_text("5 times a day")
    assert "Lavez-vous" not in page.content()
