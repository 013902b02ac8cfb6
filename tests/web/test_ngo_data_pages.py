"""Data in and out in a real Chromium on a whole Ruche: a manager uploads a 1,000-row CSV with
three bad rows (reported by line, the 997 good ones in), uploads it again (nothing twice),
volunteers' answers arrive through the API, and the manager downloads the results as CSV,
read back with Python's ``csv`` module to check every answer column. At a phone's and a
desktop's size, in English and French, axe-core on every page."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis as sync_redis
import redis.asyncio
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from core.accounts.staff import Role, Staff
from core.redis.keys import Keys
from tests.support.web import DESKTOP, PHONE, Site, assert_accessible, follow
from web.ngo.uploads import progress_key

BAD_ROWS = frozenset({41, 500, 998})  # 0-based rows: file lines 43, 502 and 1,000
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "data": "Data in and out", "file": "File of tasks", "upload": "Upload",
        "report": "Upload report", "again": "Upload another file", "csv": "Results as CSV",
        "line": "Line {}",
    },
    "fr": {
        "data": "Données : import et export", "file": "Fichier de tâches",
        "upload": "Téléverser", "report": "Rapport de téléversement",
        "again": "Téléverser un autre fichier", "csv": "Résultats en CSV", "line": "Ligne {}",
    },
}  # fmt: skip


def leaflet_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["external_id", "source_text", "source_lang", "target_lang"])
    for i in range(1000):
        text = "" if i in BAD_ROWS else f"Wash your hands, {i}."
        writer.writerow([f"leaflet-{i}", text, "en", "fr"])
    return out.getvalue().encode()


def french(source: str) -> str:
    number = re.search(r"\d+", source)
    assert number is not None, source
    return f"Lavez-vous les mains, {number.group(0)}."


async def _make_manager(redis_url: str, org_id: str, volunteer_id: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        await Staff(client, Keys()).add(org_id, volunteer_id, Role.MANAGER, by="admin")
    finally:
        await client.aclose()


def _volunteer(site: Site, skill: str) -> dict[str, str]:
    made = site.http.post(
        "/v1/volunteers",
        json={"display_name": "Api", "languages": ["en", "fr"], "skills": [skill]},
    )
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    accepted = site.http.post("/v1/me/charter", json={"accept": True}, headers=headers)
    assert accepted.status_code == 200, accepted.text
    return headers


def _answer(site: Site, headers: dict[str, str], project_id: str, count: int) -> None:
    for _ in range(count):
        claimed = site.http.post(
            "/v1/assignments", json={"project_id": project_id}, headers=headers
        )
        assert claimed.status_code == 201, claimed.text
        body: dict[str, Any] = claimed.json()
        sent = site.http.post(
            f"/v1/assignments/{body['id']}/submit",
            json={"answer": {"text": french(body["task"]["payload"]["source_text"])}},
            headers=headers,
        )
        assert sent.status_code == 202, sent.text


def _results(site: Site, headers: dict[str, str], project_id: str) -> int:
    found = site.http.get(f"/v1/projects/{project_id}/results?limit=1000", headers=headers)
    assert found.status_code == 200, found.text
    return len(found.json()["items"])


def _sign_in(page: Page, site: Site, token: str) -> None:
    page.goto(site.url("/login?lang=en"))
    page.get_by_label("Recovery code or volunteer key").fill(token)
    page.get_by_role("button", name="Sign in with my code").click()
    page.wait_for_load_state()


def _upload(page: Page, words: dict[str, str], data: bytes) -> None:
    page.get_by_label(words["file"], exact=True).set_input_files(
        {"name": "leaflets.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.get_by_role("button", name=words["upload"], exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["report"], timeout=60_000)


def _manager_on_data_page(
    browser: Browser, site: Site, size: str, lang: str
) -> tuple[BrowserContext, Page, str, str, dict[str, str]]:
    """A translation project, and its organisation's manager signed in on its data page
    (reached from the project's page): the context, page, project id, skill and API key."""
    words = WORDS[lang]
    org_id, key = site.org(f"Clinic {secrets.token_hex(2)}")
    org = {"Authorization": f"Bearer {key}"}
    skill = f"leaflets-{secrets.token_hex(3)}"
    made = site.http.post(
        "/v1/projects",
        json={
            "name": "Clinic leaflets", "task_type": "translation", "languages": ["en", "fr"],
            "instructions": "Translate the sentence.", "redundancy": 2, "skills": [skill],
            "review": {"spot_check_rate": 0},
        },
        headers=org,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    project_id = str(made.json()["id"])
    person = site.http.post("/v1/volunteers", json={"display_name": "Mia", "languages": ["en"]})
    assert person.status_code == 201, person.text
    with ThreadPoolExecutor(1) as thread:  # Playwright's own loop runs in this one
        thread.submit(
            asyncio.run, _make_manager(site.redis_url, org_id, person.json()["id"])
        ).result()
    context = browser.new_context(
        viewport=PHONE if size == "phone" else DESKTOP, accept_downloads=True
    )
    page = context.new_page()
    _sign_in(page, site, person.json()["token"])
    page.goto(site.url(f"/ngo/projects/{project_id}?lang={lang}"))
    follow(page.get_by_role("link", name=words["data"], exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(words["data"])
    assert_accessible(page)
    return context, page, project_id, skill, org


@pytest.mark.parametrize(("size", "lang"), [("phone", "fr"), ("desktop", "en")])
def test_manager_uploads_answers_arrive_and_the_csv_has_every_answer(
    browser: Browser, site: Site, size: str, lang: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    words = WORDS[lang]
    folder = tmp_path_factory.mktemp("ngo-data-shots")
    context, page, project_id, skill, org = _manager_on_data_page(browser, site, size, lang)
    page.screenshot(path=str(folder / f"data-{size}-{lang}.png"), full_page=True)

    data = leaflet_csv()
    _upload(page, words, data)
    assert_accessible(page)
    page.screenshot(path=str(folder / f"report-{size}-{lang}.png"), full_page=True)
    figures = page.locator(".ngo-figure").all_inner_texts()
    assert [re.sub(r"\D", "", f) for f in figures] == ["1000", "997", "0", "3"], figures
    bad = page.locator(".ngo-bad-rows dt")
    expect(bad).to_have_count(3)
    lines = [re.sub(r"\D", "", text) for text in bad.all_inner_texts()]
    assert lines == ["43", "502", "1000"], lines
    expect(bad.first).to_have_text(words["line"].format(43))
    expect(page.locator(".ngo-bad-rows dd").first).to_contain_text("source_text")
    task_count = site.http.get(f"/v1/projects/{project_id}", headers=org).json()["counts"]
    assert sum(task_count.values()) == 997

    follow(page.get_by_role("link", name=words["again"]))
    assert_accessible(page)
    _upload(page, words, data)
    figures = page.locator(".ngo-figure").all_inner_texts()
    assert [re.sub(r"\D", "", f) for f in figures] == ["1000", "0", "997", "3"], figures
    task_count = site.http.get(f"/v1/projects/{project_id}", headers=org).json()["counts"]
    assert sum(task_count.values()) == 997

    # Volunteers answer through the API, two alike per task: agreement decides.
    first, second = _volunteer(site, skill), _volunteer(site, skill)
    _answer(site, first, project_id, 12)
    _answer(site, second, project_id, 12)
    deadline = time.monotonic() + 60
    while _results(site, org, project_id) < 12 and time.monotonic() < deadline:
        time.sleep(0.2)
    decided = _results(site, org, project_id)
    assert decided >= 12

    page.goto(site.url(f"/ngo/projects/{project_id}/data?lang={lang}"))
    with page.expect_download() as download_info:
        page.get_by_role("link", name=words["csv"]).click()
    path = download_info.value.path()
    with open(path, encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == decided
    assert list(rows[0]) == [
        "task_id", "external_id", "source_text", "answer.text", "confidence", "method", "decided_at"
    ]  # fmt: skip
    for row in rows:
        assert row["external_id"].startswith("leaflet-")
        number = row["external_id"].removeprefix("leaflet-")
        assert row["source_text"] == f"Wash your hands, {number}."
        assert row["answer.text"] == french(row["source_text"])
        assert re.fullmatch(r"[01]\.\d{3}", row["confidence"]), row["confidence"]
        assert row["method"] in ("agreement", "review")
    context.close()


def test_a_file_over_the_bound_is_refused_before_it_is_sent(browser: Browser, site: Site) -> None:
    words = WORDS["en"]
    context, page, project_id, _, org = _manager_on_data_page(browser, site, "phone", "en")
    posted: list[str] = []
    page.on(
        "request", lambda request: posted.append(request.url) if request.method == "POST" else None
    )
    page.get_by_label(words["file"], exact=True).set_input_files(
        {"name": "huge.csv", "mimeType": "text/csv", "buffer": b"x" * (4 * 1024 * 1024 + 1)}
    )
    page.get_by_role("button", name=words["upload"], exact=True).click()
    expect(page.locator(".ngo-upload-status")).to_contain_text(
        "This file is larger than 4 megabytes"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(words["data"])
    assert posted == []
    assert_accessible(page)
    counts = site.http.get(f"/v1/projects/{project_id}", headers=org).json()["counts"]
    assert sum(counts.values()) == 0
    context.close()


def test_the_page_polls_the_uploads_progress_while_it_is_sent(browser: Browser, site: Site) -> None:
    """The upload is held on its way (a Playwright route) while the server's progress record
    of the form's upload id says line 500 of 1,001: the page's script asks for it (and is
    answered); then the upload goes on to its report. (What the script writes is not read
    here: while a form's navigation is pending, Playwright waits for it before reading the
    page or a reply's body; the reply itself is tested in tests/web/test_ngo_data.py.)"""
    words = WORDS["en"]
    context, page, project_id, _, _ = _manager_on_data_page(browser, site, "desktop", "en")
    upload_id = page.locator("input[name=upload_id]").get_attribute("value")
    assert upload_id
    store = sync_redis.Redis.from_url(site.redis_url, decode_responses=True)
    try:
        store.hset(
            progress_key(Keys(), project_id, upload_id),
            mapping={"lines": "1001", "line": "500", "done": "0"},
        )
    finally:
        store.close()
    held: list[Route] = []
    page.route("**/data/upload", lambda route: held.append(route))
    page.get_by_label(words["file"], exact=True).set_input_files(
        {"name": "leaflets.csv", "mimeType": "text/csv", "buffer": leaflet_csv()}
    )
    with page.expect_response(lambda reply: "/data/uploads/" in reply.url) as polled:
        page.get_by_role("button", name=words["upload"], exact=True).click(no_wait_after=True)
    assert polled.value.status == 200
    assert len(held) == 1
    held[0].continue_()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["report"])
    figures = page.locator(".ngo-figure").all_inner_texts()
    assert [re.sub(r"\D", "", f) for f in figures] == ["1000", "997", "0", "3"], figures
    context.close()
