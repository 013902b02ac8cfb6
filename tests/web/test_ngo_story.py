"""The console's whole story in a real Chromium on a whole Ruche (``ruche up``: its workers,
its own Redis, a real SMTP server), as issue 13's "What must be shown" tells it.

The operator creates an organisation; its contact accepts the mailed invitation and is its
owner; the owner invites a manager, a reviewer and a viewer, each accepting on a device of their
own. The manager creates a translation project in the console, uploads a 1,000-row CSV with
three bad rows (reported by line, the 997 others in) and uploads it again (nothing twice).
Volunteers answer through the API, two per task, disagreeing on some; the manager watches the
answers arrive on the project page; the staff reviewer (a reviewer of every project of the
organisation by role) settles the backlog at /review with the keyboard; the manager downloads
the results as CSV, read back with Python's ``csv`` module to check every answer column. The
viewer sees the project, and every change is refused, also when the form is posted by hand
with the viewer's own session and CSRF token. Another organisation's project, data page (the
upload) and delivery page are the same 404 as a random id. axe-core on every page, at a phone's
size in English and a desktop's in French.

A second test does the manager's part by keyboard alone (project creation and an upload: Tab,
typing, Space, Enter; no click) and checks that the focused control shows a focus ring; then
Tabs through every console page once round, every stop showing its focus.

On the way, every page is checked for width (nothing wider than a 360px phone) and saved as a
screenshot to look at (the system's temp folder; docs/img under ``make screenshots``).
"""

from __future__ import annotations

import csv
import re
import secrets
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.ngo_story import (
    accept_invitation,
    address,
    answer_tasks,
    csrf_of,
    every_stop_shows_focus,
    fits_the_width,
    focus_ring,
    invitation_link,
    tab_to,
    until,
    volunteer,
)
from tests.support.web import ADMIN_TOKEN, DESKTOP, PHONE, Site, assert_accessible, follow
from tests.support.web_work import screenshot
from tests.web.test_ngo_data_pages import french, leaflet_csv

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "lang": "en", "name": "Display name", "accept": "Accept the invitation",
        "people": "People", "email": "Email", "role": "Role", "send": "Send the invitation",
        "new": "New project", "project_name": "Project name", "task_type": "Task type",
        "instructions": "Instructions", "languages": "Languages", "skills": "Skills",
        "redundancy": "Answers wanted per task", "max_redundancy": "Most answers per task",
        "agreement": "Agreement to accept without review", "spot": "Spot checks",
        "create": "Create the project", "data": "Data in and out", "file": "File of tasks",
        "upload": "Upload", "report": "Upload report", "again": "Upload another file",
        "csv": "Results as CSV", "line": "Line {}", "edit": "Edit the project",
        "no_answer": "No answer yet.", "review_next": "Review next",
        "saved": "Decision saved.", "nothing_waits": "Nothing waits for review",
        "forbidden": "This is not allowed.", "charter": "I accept the charter",
        "nothing_here": "There is nothing here.", "by_role": "They review every project by",
    },
    "fr": {
        "lang": "fr", "name": "Nom affiché", "accept": "Accepter l’invitation",
        "people": "Personnes", "email": "E-mail", "role": "Rôle",
        "send": "Envoyer l’invitation", "new": "Nouveau projet", "project_name": "Nom du projet",
        "task_type": "Type de tâche", "instructions": "Consignes", "languages": "Langues",
        "skills": "Compétences", "redundancy": "Réponses voulues par tâche",
        "max_redundancy": "Réponses au plus par tâche",
        "agreement": "Accord pour accepter sans relecture", "spot": "Contrôles par sondage",
        "create": "Créer le projet", "data": "Données : import et export",
        "file": "Fichier de tâches", "upload": "Téléverser",
        "report": "Rapport de téléversement", "again": "Téléverser un autre fichier",
        "csv": "Résultats en CSV", "line": "Ligne {}", "edit": "Modifier le projet",
        "no_answer": "Aucune réponse pour l’instant.", "review_next": "Relire le suivant",
        "saved": "Décision enregistrée.", "nothing_waits": "Rien n’attend de relecture",
        "forbidden": "Ce n’est pas permis.", "charter": "J’accepte la charte",
        "nothing_here": "Il n’y a rien ici.", "by_role": "Ces personnes relisent tous",
    },
}  # fmt: skip
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: Where the screenshots go, to be looked at (outside the repository).
SHOTS = Path(tempfile.gettempdir()) / "ruche-ngo-story"
ANSWERED = 8  # tasks two volunteers answer; those whose number is a multiple of 4 disagree


def _shot(page: Page, name: str) -> None:
    """A full-page screenshot to look at, and into docs/img under ``make screenshots``."""
    fits_the_width(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    screenshot(page, f"ngo-{name}")


def _number(source: str) -> int:
    found = re.search(r"\d+", source)
    assert found is not None, source
    return int(found.group(0))


def _other_answer(source: str) -> str:
    """The second volunteer's answer: the same as the first's, but not on every fourth task."""
    number = _number(source)
    return f"Le centre ouvre à huit heures ({number})." if number % 4 == 0 else french(source)


def _figures(page: Page) -> list[str]:
    return [re.sub(r"\D", "", text) for text in page.locator(".ngo-figure").all_inner_texts()]


def _upload(page: Page, words: dict[str, str], data: bytes) -> None:
    page.get_by_label(words["file"], exact=True).set_input_files(
        {"name": "leaflets.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.get_by_role("button", name=words["upload"], exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["report"], timeout=60_000)
    assert_accessible(page)


def _create_project(manager: Page, words: dict[str, str], skill: str, shot: str) -> str:
    follow(manager.get_by_role("link", name=words["new"]))
    assert_accessible(manager)
    manager.get_by_label(words["project_name"]).fill("Clinic leaflets")
    manager.get_by_label(words["task_type"], exact=True).select_option("translation")
    manager.get_by_label(words["instructions"], exact=True).fill("Translate the sentence.")
    manager.get_by_label(words["languages"], exact=True).fill("en, fr")
    manager.get_by_label(words["skills"], exact=True).fill(skill)
    manager.get_by_label(words["redundancy"]).fill("2")
    manager.get_by_label(words["max_redundancy"]).fill("2")
    manager.get_by_label(words["spot"]).fill("0")
    _shot(manager, shot)
    manager.get_by_role("button", name=words["create"]).click()
    manager.wait_for_url(re.compile(r".*/ngo/projects/prj_[a-z0-9]+$"))
    assert_accessible(manager)
    return manager.url.rsplit("/", 1)[1]


@pytest.mark.parametrize(("size", "lang"), [("phone", "en"), ("desktop", "fr")])
def test_an_organisation_runs_a_project_from_invitation_to_results(
    browser: Browser, site: Site, size: str, lang: str
) -> None:
    words = WORDS[lang]
    viewport = PHONE if size == "phone" else DESKTOP
    contact = address("owner")
    made = site.http.post(
        "/v1/orgs", json={"name": f"Clinic aid {lang}", "contact_email": contact}, headers=ADMIN
    )
    assert made.status_code == 201, made.text
    org_id, api = made.json()["id"], {"Authorization": f"Bearer {made.json()['api_key']}"}

    # The owner, then the three people the owner invites, each on a device of their own.
    owner = accept_invitation(browser, viewport, site, contact, "Olga", words)
    _shot(owner, f"projects-empty-{size}-{lang}")
    follow(owner.get_by_role("link", name=words["people"], exact=True))
    assert_accessible(owner)
    mails = {role: address(role) for role in ("manager", "reviewer", "viewer")}
    for role, to in mails.items():
        owner.get_by_label(words["email"], exact=True).fill(to)
        owner.get_by_label(words["role"], exact=True).select_option(role)
        owner.get_by_role("button", name=words["send"]).click()
        expect(owner.locator(".flash")).to_be_visible()
    assert_accessible(owner)
    _shot(owner, f"people-{size}-{lang}")
    manager = accept_invitation(browser, viewport, site, mails["manager"], "Mia", words)
    reviewer = accept_invitation(
        browser, viewport, site, mails["reviewer"], "Rui", words, ("en", "fr")
    )
    viewer = accept_invitation(browser, viewport, site, mails["viewer"], "Vic", words)

    # The manager's project, and its tasks from a file uploaded twice.
    skill = f"leaflets-{secrets.token_hex(3)}"
    project_id = _create_project(manager, words, skill, f"project-new-{size}-{lang}")
    project_url = site.url(f"/ngo/projects/{project_id}")
    expect(manager.get_by_text(words["no_answer"])).to_be_visible()
    follow(manager.get_by_role("link", name=words["data"], exact=True))
    assert_accessible(manager)
    _shot(manager, f"data-{size}-{lang}")
    data = leaflet_csv()
    _upload(manager, words, data)
    _shot(manager, f"upload-report-{size}-{lang}")
    assert _figures(manager) == ["1000", "997", "0", "3"]
    bad = manager.locator(".ngo-bad-rows dt")
    assert [re.sub(r"\D", "", line) for line in bad.all_inner_texts()] == ["43", "502", "1000"]
    expect(bad.first).to_have_text(words["line"].format(43))
    follow(manager.get_by_role("link", name=words["again"]))
    assert_accessible(manager)
    _upload(manager, words, data)
    assert _figures(manager) == ["1000", "0", "997", "3"]

    def project() -> dict[str, object]:
        read = site.http.get(f"/v1/projects/{project_id}", headers=api)
        assert read.status_code == 200, read.text
        return dict(read.json())

    counts = project()["counts"]
    assert isinstance(counts, dict) and sum(counts.values()) == 997

    # Volunteers answer; on every fourth task they disagree, and it goes to review. The manager
    # watches the answers arrive on the project page: its count moves with each volunteer's.
    def answers_shown() -> int:
        manager.goto(project_url)
        cells = manager.locator("section[aria-labelledby=volunteers-title] tbody td:nth-child(2)")
        return sum(int(re.sub(r"\D", "", text)) for text in cells.all_inner_texts())

    first, second = volunteer(site, skill), volunteer(site, skill)
    sources = answer_tasks(site, first, project_id, ANSWERED, french)
    until(lambda: answers_shown() == ANSWERED, "the first volunteer's answers on the page")
    assert sorted(answer_tasks(site, second, project_id, ANSWERED, _other_answer)) == sorted(
        sources
    )
    until(lambda: answers_shown() == 2 * ANSWERED, "every answer on the page")
    disputed = [source for source in sources if _number(source) % 4 == 0]
    assert disputed, sources

    def in_review() -> bool:
        counts = project()["counts"]
        assert isinstance(counts, dict)
        return bool(counts["in_review"] == len(disputed))

    until(in_review, "the disputed in review")
    assert_accessible(manager)
    _shot(manager, f"project-{size}-{lang}")

    # The staff reviewer settles the backlog with the keyboard, accepting the first answer.
    # Reviewing shows what volunteers typed: the volunteers' charter first, as for anyone.
    reviewer.goto(site.url(f"/review?lang={lang}"))
    assert_accessible(reviewer)
    tab_to(reviewer, reviewer.get_by_role("button", name=words["charter"]))
    with reviewer.expect_navigation():
        reviewer.keyboard.press("Enter")
    reviewer.goto(site.url("/review"))
    _shot(reviewer, f"review-queue-{size}-{lang}")
    tab_to(reviewer, reviewer.get_by_role("button", name=words["review_next"]))
    reviewer.keyboard.press("Enter")
    expect(reviewer).to_have_url(re.compile(r"/review/prj_"))
    assert_accessible(reviewer)
    _shot(reviewer, f"review-item-{size}-{lang}")
    decided = 0
    while re.search(r"/review/prj_", reviewer.url):  # each decision opens the next item
        with reviewer.expect_navigation():
            reviewer.keyboard.press("1")
        expect(reviewer.locator(".flash")).to_have_text(words["saved"])
        decided += 1
        assert decided <= len(disputed)
    assert decided == len(disputed)
    expect(reviewer.get_by_text(words["nothing_waits"])).to_be_visible()
    assert_accessible(reviewer)

    def results() -> int:
        read = site.http.get(f"/v1/projects/{project_id}/results?limit=100", headers=api)
        assert read.status_code == 200, read.text
        return len(read.json()["items"])

    until(lambda: results() == ANSWERED, "every answered task's result")

    # The manager downloads the results; every answer column is checked.
    manager.goto(site.url(f"/ngo/projects/{project_id}/data"))
    with manager.expect_download() as downloading:
        manager.get_by_role("link", name=words["csv"]).click()
    with open(downloading.value.path(), encoding="utf-8", newline="") as opened:
        rows = list(csv.DictReader(opened))
    assert len(rows) == ANSWERED
    assert list(rows[0]) == [
        "task_id", "external_id", "source_text", "answer.text", "confidence", "method", "decided_at"
    ]  # fmt: skip
    assert sorted(row["source_text"] for row in rows) == sorted(sources)
    for row in rows:
        assert row["external_id"] == f"leaflet-{_number(row['source_text'])}"
        assert row["answer.text"] == french(row["source_text"])
        reviewed = row["source_text"] in disputed
        assert row["method"] == ("review" if reviewed else "agreement"), row
        assert re.fullmatch(r"[01]\.\d{3}", row["confidence"]), row["confidence"]

    # The viewer sees the project and its data page, but no control to change them...
    viewer.reload()
    follow(viewer.get_by_role("link", name="Clinic leaflets"))
    assert_accessible(viewer)
    expect(viewer.get_by_role("link", name=words["edit"])).to_have_count(0)
    expect(viewer.get_by_role("button")).to_have_count(0)
    _shot(viewer, f"project-viewer-{size}-{lang}")
    follow(viewer.get_by_role("link", name=words["data"], exact=True))
    assert_accessible(viewer)
    expect(viewer.get_by_label(words["file"], exact=True)).to_have_count(0)

    # ...and every change posted by hand, with the viewer's session and CSRF token, is refused.
    def reviewers() -> list[str]:
        read = site.http.get(f"/v1/projects/{project_id}/reviewers", headers=api)
        return sorted(read.json()["items"])

    reviewers_before = reviewers()
    token = viewer_token = csrf_of(viewer, site.url("/logout"))
    forms: list[tuple[str, dict[str, str]]] = [
        (f"/ngo/projects/{project_id}/state", {"action": "pause"}),
        (f"/ngo/projects/{project_id}/state", {"action": "close"}),
        (f"/ngo/projects/{project_id}/edit", {"name": "Taken over", "instructions": "No."}),
        (f"/ngo/projects/{project_id}/access", {"invitation_only": "1"}),
        (f"/ngo/projects/{project_id}/reviewers", {"who": mails["viewer"]}),
        (f"/ngo/orgs/{org_id}/projects/new", {"name": "Mine", "task_type": "translation",
                                              "instructions": "Do."}),
        (f"/ngo/orgs/{org_id}/people/invite", {"email": address("friend"), "role": "owner"}),
        (f"/ngo/orgs/{org_id}/volunteers/invitations", {"uses": "5", "days": "7"}),
        (f"/ngo/orgs/{org_id}/keys/new", {}),
        (f"/ngo/orgs/{org_id}/delivery/endpoint", {"url": "https://example.org/hook"}),
    ]  # fmt: skip
    for path, fields in forms:
        refused = viewer.request.post(
            site.url(path), form={"csrf_token": token, **fields}, max_redirects=0
        )
        assert refused.status == 403, (path, refused.status)
        assert words["forbidden"] in refused.text(), path
    upload = viewer.request.post(
        site.url(f"/ngo/projects/{project_id}/data/upload"),
        multipart={
            "csrf_token": token, "upload_id": "u" * 16,
            "file": {"name": "more.csv", "mimeType": "text/csv",
                     "buffer": b"external_id,source_text,source_lang,target_lang\nx,Hi,en,fr\n"},
        },
        max_redirects=0,
    )  # fmt: skip
    assert upload.status == 403
    after = project()
    assert (after["name"], after["state"]) == ("Clinic leaflets", "active")
    assert sum(after["counts"].values()) == 997  # type: ignore[attr-defined]
    assert reviewers() == reviewers_before

    # Every other page of the console, as its owner and the project's manager see them.
    sections = owner.locator("nav.ngo-nav a").evaluate_all("(links) => links.map(a => a.href)")
    for url in [*sections, site.url(f"/ngo/orgs/{org_id}/report")]:
        owner.goto(url)
        assert_accessible(owner)
        section = url.rstrip("/").rsplit("/", 1)[1]
        _shot(owner, f"{'projects' if section == org_id else section}-{size}-{lang}")
    for part in ("access", "edit"):
        manager.goto(f"{project_url}/{part}")
        assert_accessible(manager)
        _shot(manager, f"project-{part}-{size}-{lang}")
    # The staff review every project by their role: the access page offers no withdrawal of
    # theirs (the People page changes roles), and one posted by hand changes nothing.
    manager.goto(f"{project_url}/access")
    expect(manager.locator("form[action$='/revoke']")).to_have_count(0)
    staff_ids = manager.locator(".ngo-people code").all_inner_texts()
    assert sorted(staff_ids) == reviewers_before and len(staff_ids) == 3  # owner, manager, reviewer
    kept = manager.request.post(
        f"{project_url}/reviewers/{staff_ids[0]}/revoke",
        form={"csrf_token": csrf_of(manager, f"{project_url}/access")},
        max_redirects=0,
    )
    assert kept.status == 303
    assert reviewers() == reviewers_before
    manager.goto(f"{project_url}/access")
    expect(manager.locator(".flash")).to_contain_text(words["by_role"])

    # Another organisation's project, data page and delivery page: the 404 of a random id.
    other_org, other_key = site.org("Someone else")
    theirs = site.project(other_key, "translation", languages=["en", "fr"])
    random_project = "prj_" + "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789")
                                      for _ in project_id.removeprefix("prj_"))  # fmt: skip
    random_org = "org_" + secrets.token_hex(8)
    for person, path, random_path in [
        (manager, f"/ngo/projects/{theirs}", f"/ngo/projects/{random_project}"),
        (manager, f"/ngo/projects/{theirs}/data", f"/ngo/projects/{random_project}/data"),
        (manager, f"/ngo/projects/{theirs}/results/csv",
         f"/ngo/projects/{random_project}/results/csv"),
        (owner, f"/ngo/orgs/{other_org}/delivery", f"/ngo/orgs/{random_org}/delivery"),
        (owner, f"/ngo/orgs/{other_org}", f"/ngo/orgs/{random_org}"),
    ]:  # fmt: skip
        pages = []
        for shown in (path, random_path):
            reply = person.goto(site.url(shown))
            assert reply is not None and reply.status == 404, shown
            expect(person.locator("main")).to_contain_text(words["nothing_here"])
            pages.append(person.locator("main").inner_text())
        assert pages[0] == pages[1], path
    assert_accessible(manager)
    token = csrf_of(manager, site.url("/logout"))
    posted = manager.request.post(
        site.url(f"/ngo/projects/{theirs}/data/upload"),
        multipart={"csrf_token": token, "upload_id": "u" * 16,
                   "file": {"name": "x.csv", "mimeType": "text/csv", "buffer": data}},
        max_redirects=0,
    )  # fmt: skip
    assert posted.status == 404

    # The viewer's token was a good one: the same hand-made post signs the viewer out.
    signed_out = viewer.request.post(
        site.url("/logout"), form={"csrf_token": viewer_token},
        max_redirects=0,
    )  # fmt: skip
    assert signed_out.status == 303


def _keys_to(page: Page, target: Locator) -> None:
    """Tab to ``target``, which then shows a focus ring."""
    tab_to(page, target)
    focus_ring(page, target)


def test_the_manager_creates_a_project_and_uploads_by_keyboard_alone(
    browser: Browser, site: Site
) -> None:
    """No click: Tab, typing, Space and Enter, and every control reached shows its focus."""
    words = WORDS["en"]
    contact = address("owner")
    made = site.http.post(
        "/v1/orgs", json={"name": "Keys aid", "contact_email": contact}, headers=ADMIN
    )
    assert made.status_code == 201, made.text
    api = {"Authorization": f"Bearer {made.json()['api_key']}"}

    def accept(to: str, name: str) -> Page:
        page = browser.new_context(viewport=DESKTOP).new_page()
        page.goto(invitation_link(site, to) + "?lang=en")
        _keys_to(page, page.get_by_label(words["name"]))
        page.keyboard.type(name)
        _keys_to(page, page.get_by_role("button", name=words["accept"]))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r".*/ngo/orgs/org_[a-z0-9]+$"))
        return page

    owner = accept(contact, "Olga")
    _keys_to(owner, owner.get_by_role("link", name=words["people"], exact=True))
    with owner.expect_navigation():
        owner.keyboard.press("Enter")
    to = address("manager")
    _keys_to(owner, owner.get_by_label(words["email"], exact=True))
    owner.keyboard.type(to)
    _keys_to(owner, owner.get_by_label(words["role"], exact=True))
    owner.keyboard.type("Manager")  # a select's type-ahead picks the option
    expect(owner.get_by_label(words["role"], exact=True)).to_have_value("manager")
    _keys_to(owner, owner.get_by_role("button", name=words["send"]))
    with owner.expect_navigation():
        owner.keyboard.press("Enter")

    manager = accept(to, "Mia")
    _keys_to(manager, manager.get_by_role("link", name=words["new"]))
    with manager.expect_navigation():
        manager.keyboard.press("Enter")
    for label, typed in [
        (words["project_name"], "Keyboard leaflets"),
        (words["task_type"], "Translation"),
        (words["instructions"], "Translate the sentence."),
        (words["languages"], "en, fr"),
    ]:
        _keys_to(manager, manager.get_by_label(label, exact=True))
        manager.keyboard.type(typed)
    expect(manager.get_by_label(words["task_type"], exact=True)).to_have_value("translation")
    _keys_to(manager, manager.get_by_role("button", name=words["create"]))
    with manager.expect_navigation():
        manager.keyboard.press("Enter")
    expect(manager).to_have_url(re.compile(r".*/ngo/projects/prj_[a-z0-9]+$"))
    expect(manager.get_by_role("heading", level=1)).to_have_text("Keyboard leaflets")
    project_id = manager.url.rsplit("/", 1)[1]

    _keys_to(manager, manager.get_by_role("link", name=words["data"], exact=True))
    with manager.expect_navigation():
        manager.keyboard.press("Enter")
    picker = manager.get_by_label(words["file"], exact=True)
    # Intercept file choosers from now on, before the key that opens one: expect_file_chooser
    # alone turns interception on without waiting for the browser to confirm it, so a chooser
    # opened first was never reported (it once timed out here). Tabbing to the field takes
    # several round trips to the page, which come after the interception's.
    manager.on("filechooser", lambda _: None)
    _keys_to(manager, picker)
    with manager.expect_file_chooser() as choosing:
        manager.keyboard.press("Space")  # a file field opens its chooser on Space
    choosing.value.set_files(
        {"name": "leaflets.csv", "mimeType": "text/csv", "buffer": leaflet_csv()}
    )
    _keys_to(manager, manager.get_by_role("button", name=words["upload"], exact=True))
    with manager.expect_navigation(timeout=60_000):
        manager.keyboard.press("Enter")
    expect(manager.get_by_role("heading", level=1)).to_have_text(words["report"])
    assert _figures(manager) == ["1000", "997", "0", "3"]
    counts = site.http.get(f"/v1/projects/{project_id}", headers=api).json()["counts"]
    assert sum(counts.values()) == 997
    _keys_to(manager, manager.get_by_role("link", name=words["again"]))

    # Every control of every page the manager and the owner use shows where the focus is.
    project_url = site.url(f"/ngo/projects/{project_id}")
    org_url = owner.url.split("/people")[0]
    for person, url in [
        (manager, org_url), (manager, project_url), (manager, f"{project_url}/edit"),
        (manager, f"{project_url}/data"), (manager, f"{project_url}/access"),
        (owner, f"{org_url}/people"), (owner, f"{org_url}/volunteers"),
        (owner, f"{org_url}/report"), (owner, f"{org_url}/delivery"), (owner, f"{org_url}/keys"),
    ]:  # fmt: skip
        person.goto(url)
        assert every_stop_shows_focus(person) > 5, url
