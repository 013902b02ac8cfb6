"""Staff by e-mail, in process with a real SMTP server (aiosmtpd on loopback): the operator's
new organisation invites its contact address as first owner (``POST /v1/orgs`` and
``ruche org create``); the owner invites a manager and a viewer; links work once; roles change;
the last owner stays; a deleted organisation leaves no staff key behind."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage

import httpx
import pytest
import redis

from core.accounts.staff import Role, Staff
from core.settings import Settings
from tests.support.api.client import ADMIN, ADMIN_TOKEN
from tests.support.ngo_staff import csrf_of
from tests.support.web import Mailbox, mailbox
from tests.support.web_inprocess import InProcess, in_process

pytestmark = pytest.mark.anyio

LINK = re.compile(r"https?://\S+(/ngo/invitations/[A-Za-z0-9_-]+)")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def box() -> Iterator[tuple[Mailbox, int]]:
    with mailbox() as found:
        yield found


@pytest.fixture
async def site(
    redis_client: redis.Redis, redis_url: str, box: tuple[Mailbox, int]
) -> AsyncIterator[InProcess]:
    settings = Settings(
        redis_url=redis_url, admin_token=ADMIN_TOKEN, smtp_url=f"smtp://127.0.0.1:{box[1]}"
    )
    async with in_process(settings) as running:
        yield running


async def _invitation_path(site: InProcess, box: Mailbox, to: str) -> str:
    await site.web.mailer.drain()
    message: EmailMessage = box.wait_for(to)
    found = LINK.search(message.get_content())
    assert found is not None, message.get_content()
    return found.group(1)


async def _accept(client: httpx.AsyncClient, path: str, name: str | None) -> httpx.Response:
    opened = await client.get(path + "?lang=en")
    assert opened.status_code == 200, opened.text
    assert "Accept the invitation" in opened.text
    fields = {"csrf_token": csrf_of(opened.text)}
    if name is not None:
        fields["display_name"] = name
    return await client.post(path, data=fields)


async def test_the_contact_becomes_first_owner_and_invites_a_manager_and_a_viewer(
    site: InProcess, box: tuple[Mailbox, int]
) -> None:
    mail, _ = box
    api = site.client()
    made = await api.post(
        "/v1/orgs", json={"name": "Lingua Aid", "contact_email": "Boss@Example.org"}, headers=ADMIN
    )
    assert made.status_code == 201
    org_id = made.json()["id"]
    owner_link = await _invitation_path(site, mail, "boss@example.org")

    owner = site.client()
    assert (await owner.get(owner_link)).status_code == 200  # opening uses nothing
    no_name = await _accept(owner, owner_link, "")
    assert no_name.status_code == 422 and 'aria-invalid="true"' in no_name.text
    accepted = await _accept(owner, owner_link, "Bea")
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/ngo/orgs/{org_id}"
    assert (await owner.get(owner_link)).status_code == 410  # once only
    home = await owner.get("/ngo")
    assert home.status_code == 303 and home.headers["location"] == f"/ngo/orgs/{org_id}"

    staff = Staff(site.app.state.redis, site.app.state.keys)
    members = await staff.members(org_id)
    assert list(members.values()) == [Role.OWNER]
    owner_id = next(iter(members))

    people = f"/ngo/orgs/{org_id}/people"
    for email, role in (("mia@example.org", "manager"), ("vic@example.org", "viewer")):
        page = await owner.get(people)
        sent = await owner.post(
            f"{people}/invite",
            data={"csrf_token": csrf_of(page.text), "email": email, "role": role},
        )
        assert sent.status_code == 303, sent.text
    page = await owner.get(people)
    refused = await owner.post(
        f"{people}/invite",
        data={"csrf_token": csrf_of(page.text), "email": "not an address", "role": "owner"},
    )
    assert refused.status_code == 422 and 'id="invite-email-error"' in refused.text

    manager, viewer = site.client(), site.client()
    manager_link = await _invitation_path(site, mail, "mia@example.org")
    viewer_link = await _invitation_path(site, mail, "vic@example.org")
    assert (await _accept(manager, manager_link, "Mia")).status_code == 303
    assert (await _accept(viewer, viewer_link, "Vic")).status_code == 303
    roles = sorted(r.label for r in (await staff.members(org_id)).values())
    assert roles == ["manager", "owner", "viewer"]
    work = await manager.get("/logout?lang=en")  # staff find the console in the main menu
    assert '<a href="/ngo">NGO console</a>' in work.text

    # Only an owner manages people, even posting by hand.
    by_hand = await manager.get("/logout")
    viewer_id = next(v for v, r in (await staff.members(org_id)).items() if r is Role.VIEWER)
    for action, fields in (
        (f"{people}/invite", {"email": "x@example.org", "role": "owner"}),
        (f"{people}/{viewer_id}/role", {"role": "owner"}),
        (f"{people}/{viewer_id}/remove", {}),
    ):
        tried = await manager.post(action, data={**fields, "csrf_token": csrf_of(by_hand.text)})
        assert tried.status_code == 403, action
    assert (await staff.role(org_id, viewer_id)) is Role.VIEWER

    # The owner promotes the viewer, cannot demote or remove themself as last owner.
    page = await owner.get(people)
    token = csrf_of(page.text)
    promoted = await owner.post(
        f"{people}/{viewer_id}/role", data={"csrf_token": token, "role": "reviewer"}
    )
    assert promoted.status_code == 303
    assert (await staff.role(org_id, viewer_id)) is Role.REVIEWER
    last = await owner.post(
        f"{people}/{owner_id}/role", data={"csrf_token": token, "role": "viewer"}
    )
    assert last.status_code == 409 and "one owner at least" in last.text
    gone = await owner.post(f"{people}/{owner_id}/remove", data={"csrf_token": token})
    assert gone.status_code == 409
    removed = await owner.post(f"{people}/{viewer_id}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert (await viewer.get(f"/ngo/orgs/{org_id}")).status_code == 404
    trail = [entry["type"] for entry in await staff.audit_trail(org_id)]
    assert trail[:2] == ["staff.removed", "staff.role_changed"]
    assert all(entry["by"] == owner_id for entry in (await staff.audit_trail(org_id))[:2])


async def test_an_existing_account_accepts_with_its_address(
    site: InProcess, box: tuple[Mailbox, int]
) -> None:
    mail, _ = box
    api = site.client()
    made = await api.post(
        "/v1/orgs", json={"name": "Aide", "contact_email": "known@example.org"}, headers=ADMIN
    )
    org_id = made.json()["id"]
    person_id, _ = await site.web.accounts.create_volunteer(
        "Known", ["fr"], [], email="known@example.org"
    )
    link = await _invitation_path(site, mail, "known@example.org")
    browser = site.client()
    opened = await browser.get(link)
    assert 'name="display_name"' not in opened.text  # the account is there: no name asked
    accepted = await _accept(browser, link, None)
    assert accepted.status_code == 303
    staff = Staff(site.app.state.redis, site.app.state.keys)
    assert await staff.role(org_id, person_id) is Role.OWNER
    assert await staff.orgs_of(person_id) == {org_id: Role.OWNER}


async def test_a_deleted_organisation_leaves_no_staff_key(
    site: InProcess, box: tuple[Mailbox, int], redis_client: redis.Redis
) -> None:
    mail, _ = box
    api = site.client()
    made = await api.post(
        "/v1/orgs", json={"name": "Gone", "contact_email": "g@example.org"}, headers=ADMIN
    )
    org_id = made.json()["id"]
    link = await _invitation_path(site, mail, "g@example.org")
    assert (await _accept(site.client(), link, "Gil")).status_code == 303
    staff = Staff(site.app.state.redis, site.app.state.keys)
    await staff.set_role(org_id, next(iter(await staff.members(org_id))), Role.OWNER, by="t")
    from core.board.runner import Board
    from core.privacy import run_due_jobs
    from tests.support.key_scan import holding

    assert (await api.delete(f"/v1/orgs/{org_id}", headers=ADMIN)).status_code == 202
    board = Board(redis_client, keys=site.app.state.keys)
    for _ in range(20):
        run_due_jobs(board, now_ms=2**42, batch=500, max_batches=50)
    assert holding(redis_client, [org_id]) == []


def test_ruche_org_create_invites_the_contact_as_first_owner(
    redis_client: redis.Redis,
    redis_url: str,
    box: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from tests.test_privacy_cli import ruche

    mail, port = box
    monkeypatch.setenv("RUCHE_REDIS_URL", redis_url)
    monkeypatch.setenv("RUCHE_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("RUCHE_PUBLIC_URL", "https://ruche.example.org")
    assert ruche("org", "create", "Voix Libres", "Chef@Example.org") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["id"].startswith("org_") and printed["api_key"].startswith("rk_org_")
    message = mail.wait_for("chef@example.org")
    assert "https://ruche.example.org/ngo/invitations/" in message.get_content()
    assert "Voix Libres" in str(message["Subject"])
    assert ruche("org", "create", "", "not-an-address") == 1


async def test_pending_invitations_are_listed_revoked_and_bounded_per_address(
    site: InProcess, box: tuple[Mailbox, int]
) -> None:
    mail, _ = box
    api = site.client()
    made = await api.post(
        "/v1/orgs", json={"name": "Pending", "contact_email": "p@example.org"}, headers=ADMIN
    )
    org_id = made.json()["id"]
    owner = site.client()
    assert (
        await _accept(owner, await _invitation_path(site, mail, "p@example.org"), "Pia")
    ).status_code == 303
    people = f"/ngo/orgs/{org_id}/people"
    page = await owner.get(people + "?lang=en")
    token = csrf_of(page.text)
    sent = await owner.post(
        f"{people}/invite",
        data={"csrf_token": token, "email": "late@example.org", "role": "manager"},
    )
    assert sent.status_code == 303
    link = await _invitation_path(site, mail, "late@example.org")
    listed = await owner.get(people + "?lang=en")
    assert "late@example.org" in listed.text
    found = re.search(r"/people/invitations/([0-9a-f]{64})/revoke", listed.text)
    assert found is not None
    revoked = await owner.post(
        f"{people}/invitations/{found.group(1)}/revoke", data={"csrf_token": token}
    )
    assert revoked.status_code == 303
    assert (await site.client().get(link)).status_code == 410
    assert "late@example.org" not in (await owner.get(people)).text
    again = await owner.post(
        f"{people}/invitations/{found.group(1)}/revoke", data={"csrf_token": token}
    )
    assert again.status_code == 404
    trail = [
        entry["type"]
        for entry in await Staff(site.app.state.redis, site.app.state.keys).audit_trail(org_id)
    ]
    assert trail[:2] == ["staff.invitation_revoked", "staff.invited"]

    # One address gets a few mails per quarter of an hour, whoever asks.
    statuses = []
    for _ in range(6):
        tried = await owner.post(
            f"{people}/invite",
            data={"csrf_token": token, "email": "flood@example.org", "role": "viewer"},
        )
        statuses.append(tried.status_code)
    assert statuses == [303] * 5 + [422]


async def test_an_erased_staff_member_leaves_no_trace_of_their_id(
    site: InProcess, box: tuple[Mailbox, int], redis_client: redis.Redis
) -> None:
    """After the manager made a project, pauses it and was made owner, then erased: no key of
    Redis holds their id (the projects' audit events, the staff audit, the memberships)."""
    from core.board.runner import Board
    from tests.api.test_privacy import run_to_the_end
    from tests.support.key_scan import holding

    mail, _ = box
    api = site.client()
    made = await api.post(
        "/v1/orgs", json={"name": "Erase", "contact_email": "e@example.org"}, headers=ADMIN
    )
    org_id = made.json()["id"]
    owner = site.client()
    owner_link = await _invitation_path(site, mail, "e@example.org")
    assert (await _accept(owner, owner_link, "Eve")).status_code == 303
    people = f"/ngo/orgs/{org_id}/people"
    page = await owner.get(people)
    await owner.post(
        f"{people}/invite",
        data={"csrf_token": csrf_of(page.text), "email": "m@example.org", "role": "manager"},
    )
    manager = site.client()
    assert (
        await _accept(manager, await _invitation_path(site, mail, "m@example.org"), "Max")
    ).status_code == 303
    staff = Staff(site.app.state.redis, site.app.state.keys)
    manager_id = next(v for v, r in (await staff.members(org_id)).items() if r is Role.MANAGER)
    new = f"/ngo/orgs/{org_id}/projects/new"
    form = await manager.get(new)
    created = await manager.post(
        new,
        data={
            "csrf_token": csrf_of(form.text),
            "name": "Posts",
            "task_type": "moderation",
            "instructions": "Label them.",
        },
    )
    assert created.status_code == 303
    project_page = created.headers["location"]
    shown = await manager.get(project_page)
    paused = await manager.post(
        project_page + "/state", data={"csrf_token": csrf_of(shown.text), "action": "pause"}
    )
    assert paused.status_code == 303
    page = await owner.get(people)
    await owner.post(
        f"{people}/{manager_id}/role", data={"csrf_token": csrf_of(page.text), "role": "owner"}
    )
    new_owner = await manager.get(people)  # as owner now, they invite someone
    await manager.post(
        f"{people}/invite",
        data={"csrf_token": csrf_of(new_owner.text), "email": "x@example.org", "role": "viewer"},
    )
    board = Board(redis_client, keys=site.app.state.keys)
    assert holding(redis_client, [manager_id])  # the scan finds them before

    erased = await api.delete(f"/v1/volunteers/{manager_id}", headers=ADMIN)
    assert erased.status_code == 202
    run_to_the_end(board)
    assert holding(redis_client, [manager_id]) == []
    assert list((await staff.members(org_id)).values()) == [Role.OWNER]


async def test_a_new_reviewer_says_which_languages_they_read_a_viewer_is_not_asked(
    site: InProcess, box: tuple[Mailbox, int]
) -> None:
    """Reviewing offers the items in one's languages: a new account of a reviewer (or above)
    gives them on the invitation's form; a hand-made form adds no language not offered."""
    mail, _ = box
    made = await site.client().post(
        "/v1/orgs", json={"name": "Aide", "contact_email": "rev@example.org"}, headers=ADMIN
    )
    org_id = made.json()["id"]
    link = await _invitation_path(site, mail, "rev@example.org")  # the first owner's
    browser = site.client()
    opened = await browser.get(link + "?lang=en")
    assert "<legend>Languages</legend>" in opened.text
    assert 'name="languages" value="fr"' in opened.text
    accepted = await browser.post(
        link,
        data={
            "csrf_token": csrf_of(opened.text),
            "display_name": "Rui",
            "languages": ["fr", "en", "tlh", "x" * 300],
        },
    )
    assert accepted.status_code == 303, accepted.text
    person_id = await site.web.accounts.volunteer_by_email("rev@example.org")
    assert person_id is not None
    assert (await site.web.accounts.volunteer(person_id)).languages == ["en", "fr"]

    people = f"/ngo/orgs/{org_id}/people"
    page = await browser.get(people)
    sent = await browser.post(
        f"{people}/invite",
        data={"csrf_token": csrf_of(page.text), "email": "vic@example.org", "role": "viewer"},
    )
    assert sent.status_code == 303, sent.text
    viewer_link = await _invitation_path(site, mail, "vic@example.org")
    viewer_page = await site.client().get(viewer_link + "?lang=en")
    assert 'name="languages"' not in viewer_page.text
