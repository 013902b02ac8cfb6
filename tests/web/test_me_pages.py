"""My work and certificates in a real Chromium, after a real flow on a whole Ruche: volunteers
answer through the API with their tokens, a reviewer corrects one answer through the API's
review routes, the workers settle it; then the volunteer signs in with their key and sees what
became of their answer, sets a weekly goal, gets a certificate, and its public page says it is
genuine, then revoked (by the operator, through the API), then not genuine (a figure changed in
Redis). axe-core on every page, in English and French, at a phone's and a desktop's size."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, ViewportSize, expect

from core.redis.keys import Keys
from tests.support.web import ADMIN_TOKEN, DESKTOP, PHONE, Site, assert_accessible, follow

SIZES: dict[str, ViewportSize] = {"phone": PHONE, "desktop": DESKTOP}
POST = {"content": "BUY CHEAP PILLS NOW at pills.example", "labels": ["ok", "spam"]}
IMPACT = "Every post you check keeps a support forum safe for people in crisis."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Polls ``check`` until it returns something truthy (bounded: fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"waited {timeout}s for {what}")


def volunteer(http: httpx.Client, name: str) -> tuple[str, str]:
    made = http.post("/v1/volunteers", json={"display_name": name, "languages": ["en", "fr"]})
    assert made.status_code == 201, made.text
    body = made.json()
    token = str(body["token"])
    assert http.post("/v1/me/charter", json={"accept": True}, headers=bearer(token)).is_success
    return str(body["id"]), token


def answer(http: httpx.Client, token: str, project_id: str, label: str) -> None:
    claimed = http.post("/v1/assignments", json={"project_id": project_id}, headers=bearer(token))
    assert claimed.status_code == 201, claimed.text
    submitted = http.post(
        f"/v1/assignments/{claimed.json()['id']}/submit",
        json={"answer": {"label": label}},
        headers=bearer(token),
    )
    assert submitted.status_code == 202, submitted.text


def corrected_flow(site: Site) -> tuple[str, str, str]:
    """Two volunteers disagree on a post, a reviewer corrects it to "spam" with a comment.
    Returns the key of the volunteer who said "ok", the reviewer's key, the NGO's name."""
    http = site.http
    ngo = f"Safe Forums {int(time.time() * 1000) % 100000}"
    _, org_key = site.org(ngo)
    project_id = site.project(
        org_key, "moderation", redundancy=2, max_redundancy=2, impact_note=IMPACT
    )
    site.tasks(org_key, project_id, [POST])
    _, spam_token = volunteer(http, "Amina")
    _, ok_token = volunteer(http, "Bilal")
    answer(http, spam_token, project_id, "spam")
    answer(http, ok_token, project_id, "ok")

    reviewer_id, reviewer_token = volunteer(http, "Chloé")
    granted = http.post(
        f"/v1/projects/{project_id}/reviewers",
        json={"volunteer_id": reviewer_id},
        headers=bearer(org_key),
    )
    assert granted.status_code == 201, granted.text

    def review_item() -> dict[str, Any] | None:
        claimed = http.post(
            "/v1/reviews", json={"project_id": project_id}, headers=bearer(reviewer_token)
        )
        assert claimed.status_code in (201, 204), claimed.text
        return claimed.json() if claimed.status_code == 201 else None

    item = wait_for(review_item, "the disagreement to reach the review queue")
    decided = http.post(
        f"/v1/reviews/{item['id']}/decision",
        json={
            "action": "correct",
            "answer": {"label": "spam"},
            "comment": "Selling pills is spam.",
        },
        headers=bearer(reviewer_token),
    )
    assert decided.status_code == 200, decided.text

    store = redis.Redis.from_url(site.redis_url, decode_responses=True)

    def settled() -> bool:
        me = http.get("/v1/me", headers=bearer(ok_token)).json()
        reviews = store.hget(Keys().volunteer_stats(reviewer_id), "reviews")
        return bool(me["feedback"]) and reviews == "1"

    try:
        wait_for(settled, "the workers to settle the review and count it")
    finally:
        store.close()
    return ok_token, reviewer_token, ngo


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot into ``$RUCHE_SCREENSHOTS`` when set (to look at the pages)."""
    folder = os.environ.get("RUCHE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page: Page, site: Site, key: str, target: str = "/me") -> None:
    page.goto(site.url(f"/login?lang=en&next={target}"))
    page.get_by_label("Recovery code or volunteer key").fill(key)
    page.get_by_role("button", name="Sign in with my code").click()
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))


def accessible_in_both_languages(page: Page) -> None:
    path = page.url.split("?")[0]
    for lang in ("fr", "en"):
        page.goto(f"{path}?lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        assert_accessible(page)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_my_work_shows_the_corrected_answer_then_the_goal_and_a_certificate(
    browser: Browser, site: Site, size: str
) -> None:
    ok_token, reviewer_token, ngo = corrected_flow(site)
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    sign_in(page, site, ok_token)

    outcome = page.locator(".me-outcome").first
    expect(outcome).to_contain_text("BUY CHEAP PILLS NOW")  # the task, as I saw it
    expect(outcome.locator("dd").nth(1)).to_have_text("ok")  # my answer
    expect(outcome).to_contain_text("A reviewer corrected the answer.")
    expect(outcome).to_contain_text("spam")  # the answer kept
    expect(outcome).to_contain_text("Selling pills is spam.")
    expect(outcome).to_contain_text(ngo)
    expect(page.get_by_text(IMPACT)).to_be_visible()
    expect(page.locator(".me-stats")).to_contain_text("1 task done")
    screenshot(page, f"my-work-{size}")
    accessible_in_both_languages(page)

    page.goto(site.url("/me?lang=en"))
    page.get_by_label("Weekly goal").fill("0")
    page.get_by_role("button", name="Save goal").click()
    expect(page.locator("#weekly_goal-error")).to_be_visible()
    expect(page.get_by_label("Weekly goal")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    page.get_by_label("Weekly goal").fill("120")
    page.get_by_role("button", name="Save goal").click()
    expect(page.locator(".flash")).to_have_text("Your weekly goal is saved.")
    expect(page.locator("progress#goal-progress")).to_have_attribute("max", "120")
    expect(page.get_by_label("Weekly goal")).to_have_value("120")

    follow(page.get_by_role("link", name="Certificate"))
    expect(page).to_have_url(re.compile(r"/me/certificate$"))
    certificate = page.locator(".certificate")
    expect(certificate).to_contain_text("Bilal")
    expect(certificate.locator("tbody tr").first).to_contain_text(ngo)
    expect(certificate.locator("tbody tr").first).to_contain_text("Moderation")
    expect(certificate.locator("tbody tr").first).to_contain_text("items moderated: 1")
    public_url = page.locator(".cert-url").inner_text()
    certificate_id = page.locator(".cert-id").inner_text()
    assert re.fullmatch(r"crt_[0-9a-f]{32}", certificate_id)
    assert public_url == site.url(f"/certificates/{certificate_id}")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()  # printed without the navigation
    page.emulate_media(media="screen")
    screenshot(page, f"certificate-{size}")
    accessible_in_both_languages(page)

    # The public page, for anyone (a browser with nobody signed in).
    anyone = browser.new_context(viewport=SIZES[size]).new_page()
    anyone.goto(public_url + "?lang=en")
    expect(anyone.locator("#cert-status")).to_contain_text("This certificate is genuine")
    expect(anyone.locator(".certificate")).to_contain_text("Bilal")
    expect(anyone.locator(".certificate")).to_contain_text(ngo)
    accessible_in_both_languages(anyone)

    revoked = site.http.delete(f"/v1/certificates/{certificate_id}", headers=bearer(ADMIN_TOKEN))
    assert revoked.status_code == 200, revoked.text
    anyone.goto(public_url + "?lang=en")
    expect(anyone.locator("#cert-status")).to_contain_text("This certificate was revoked on")
    anyone.goto(public_url + "?lang=fr")
    expect(anyone.locator("#cert-status")).to_contain_text("Ce certificat a été révoqué le")
    assert_accessible(anyone)
    page.goto(site.url("/me/certificate?lang=en"))  # the same certificate, marked revoked
    expect(page.locator(".cert-id")).to_have_text(certificate_id)
    expect(page.locator(".certificate")).to_contain_text("it is no longer valid")

    # The reviewer's certificate counts their review decision.
    reviewer = browser.new_context(viewport=SIZES[size]).new_page()
    sign_in(reviewer, site, reviewer_token, "/me/certificate")
    expect(reviewer.locator(".certificate tbody tr").first).to_contain_text(ngo)
    expect(reviewer.locator(".certificate tfoot")).to_contain_text("1")
    reviewer_id = reviewer.locator(".cert-id").inner_text()
    assert reviewer_id != certificate_id

    # A figure changed in Redis: the signature no longer matches.
    store = redis.Redis.from_url(site.redis_url, decode_responses=True)
    try:
        key = Keys().certificate(reviewer_id)
        record = json.loads(str(store.hget(key, "record")))
        record["figures"]["totals"]["reviews"] = 40
        store.hset(key, "record", json.dumps(record, sort_keys=True, separators=(",", ":")))
    finally:
        store.close()
    anyone.goto(site.url(f"/certificates/{reviewer_id}?lang=en"))
    expect(anyone.locator("#cert-status")).to_contain_text("This certificate is not genuine")
    assert_accessible(anyone)
    context.close()


def test_an_unknown_certificate_is_the_404_page(page: Page, site: Site) -> None:
    page.goto(site.url("/certificates/crt_" + "0" * 32 + "?lang=en"))
    expect(page.locator("h1")).to_have_text("There is nothing here.")
    page.goto(site.url("/certificates/not-an-id?lang=fr"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert_accessible(page)
