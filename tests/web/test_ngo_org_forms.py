"""The console's volunteers, access, report, delivery and keys pages in process: invitations
per project or organisation (shown once, used by joining or by accepting while signed in)
opening an invitation-only project to claims; reviewer grants; the contributor report's CSV;
the webhook's SSRF check, secret shown once, rotation and replay; API keys (shown once, two
live at most, never none, last use). Every change is in an audit stream with who made it;
another organisation's invitation, delivery, key or project is the same 404 as a random id."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import AsyncIterator

import pytest
import redis

from core.accounts.invitations import Invitations
from core.accounts.staff import Staff
from core.board.runner import Board
from core.delivery.webhooks import Delivery, Webhooks
from core.insights.reader import fold_project_async
from core.settings import Settings
from core.volunteers.stats import month_of
from core.volunteers.stats_updates import record_submission
from tests.support.api.client import ADMIN_TOKEN
from tests.support.api.ngo import new_project, submit, translation
from tests.support.ngo_staff import Person, StaffScene, csrf_of, staff_scene
from tests.support.web_inprocess import in_process

pytestmark = pytest.mark.anyio

CODE = re.compile(r'id="invitation-code">([^<]+)<')
SECRET = re.compile(r'id="webhook-secret">(whsec_[^<]+)<')
NEW_KEY = re.compile(r'id="new-api-key">([^<]+)<')


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def scene(redis_client: redis.Redis, redis_url: str) -> AsyncIterator[StaffScene]:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, webhook_allow_private=True)
    async with in_process(settings) as site:
        made = await staff_scene(site)
        try:
            yield made
        finally:
            await made.close()


async def _volunteer(scene: StaffScene, name: str) -> tuple[Person, dict[str, str]]:
    """A volunteer signed in on the site (a browser) with the charter accepted, and their API
    headers."""
    made = await scene.api.post(
        "/v1/volunteers", json={"display_name": name, "languages": ["fr", "en"]}
    )
    body = made.json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert (
        await scene.api.post("/v1/me/charter", json={"accept": True}, headers=headers)
    ).is_success
    browser = scene.site.client()
    login = await browser.get("/login?lang=en")
    signed = await browser.post(
        "/login/code", data={"csrf_token": csrf_of(login.text), "code": body["token"], "next": "/"}
    )
    assert signed.status_code == 303
    return Person(str(body["id"]), browser), headers


async def _org_trail(scene: StaffScene) -> list[dict[str, str]]:
    client = scene.site.app.state.redis
    entries = await client.xrevrange(scene.site.app.state.keys.org_audit(scene.org_id), count=50)
    return [{str(k): str(v) for k, v in fields.items()} for _, fields in entries]


async def _project_audit(scene: StaffScene, project_id: str) -> list[dict[str, str]]:
    client = scene.site.app.state.redis
    entries = await client.xrange(scene.site.app.state.keys.project(project_id).events)
    found = [{str(k): str(v) for k, v in fields.items()} for _, fields in entries]
    return [entry for entry in found if entry.get("type") == "audit"]


async def test_a_project_invitation_opens_an_invitation_only_project(scene: StaffScene) -> None:
    manager, viewer = scene.people["manager"], scene.people["viewer"]
    project = await new_project(scene.api, scene.org_headers, name="Confidential")
    project_id = project["id"]
    sent = await submit(
        scene.api, scene.org_headers, project_id, [{"payload": translation(i)} for i in range(3)]
    )
    assert sent["accepted"] == 3
    access = f"/ngo/projects/{project_id}/access"
    closed = await manager.post(access, access, {"invitation_only": "on"})
    assert closed.status_code == 303
    got = await scene.api.get(f"/v1/projects/{project_id}", headers=scene.org_headers)
    assert got.json()["invitation_only"] is True
    assert [e["action"] for e in await _project_audit(scene, project_id)] == ["project.access"]

    ada, ada_api = await _volunteer(scene, "Ada")
    assert (await scene.api.post("/v1/assignments", headers=ada_api)).status_code == 204

    page = f"/ngo/orgs/{scene.org_id}/volunteers"
    made = await manager.post(
        page, f"{page}/invitations", {"scope": project_id, "uses": "2", "days": "7"}
    )
    assert made.status_code == 200 and "shown only this once" in made.text
    found = CODE.search(made.text)
    assert found is not None
    code = found.group(1)
    listed = await viewer.client.get(page)
    assert code not in listed.text and "Confidential" in listed.text and "0 of 2" in listed.text
    assert "Make the invitation" not in listed.text  # a viewer sees, never changes

    to_accept = await ada.client.get(f"/join?invite={code}")
    assert to_accept.status_code == 303 and to_accept.headers["location"].startswith(
        "/join/invitation?invite="
    )
    opened = await ada.client.get(to_accept.headers["location"] + "&lang=en")
    assert "invites you to work on the project Confidential" in opened.text
    accepted = await ada.client.post(
        "/join/invitation", data={"csrf_token": csrf_of(opened.text), "invite": code}
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == "/work"
    claimed = await scene.api.post("/v1/assignments", headers=ada_api)
    assert claimed.status_code == 201 and claimed.json()["task"]["project_id"] == project_id
    assert "1 of 2" in (await viewer.client.get(page)).text

    # Someone new joins with an invitation of the whole organisation.
    whole = await manager.post(page, f"{page}/invitations", {"scope": "", "uses": "1", "days": "1"})
    org_code = CODE.search(whole.text)
    assert org_code is not None
    newcomer = scene.site.client()
    form = await newcomer.get(f"/join?invite={org_code.group(1)}&lang=en")
    assert form.status_code == 200 and 'name="invite"' in form.text
    joined = await newcomer.post(
        "/join",
        data={
            "csrf_token": csrf_of(form.text),
            "display_name": "Bea",
            "languages": ["fr", "en"],
            "invite": org_code.group(1),
        },
    )
    assert joined.status_code == 303, joined.text[:500]
    client = scene.site.app.state.redis
    admitted = [
        key
        async for key in client.scan_iter(match="*:admitted")
        if scene.org_id in await client.smembers(key)
    ]
    assert len(admitted) == 1
    used_up = await scene.site.client().get(f"/join?invite={org_code.group(1)}&lang=en")
    # Open sign-up: they are told, and may still join, with no code carried along.
    assert used_up.status_code == 200 and "used as many times" in used_up.text
    assert 'name="invite"' not in used_up.text and 'name="display_name"' in used_up.text

    kinds = [entry["type"] for entry in await _org_trail(scene)]
    assert kinds[:2] == ["volunteer_invitation.created", "volunteer_invitation.created"]
    assert all(e["by"] == manager.volunteer_id for e in (await _org_trail(scene))[:2])
    assert all(code not in str(e) for e in await _org_trail(scene))

    bad = await manager.post(page, f"{page}/invitations", {"scope": "", "uses": "0", "days": "x"})
    assert bad.status_code == 422 and 'id="invitation-uses-error"' in bad.text


async def test_another_organisations_things_are_the_same_404_as_random_ids(
    scene: StaffScene,
) -> None:
    """The outsider owns another organisation: this organisation's invitation, delivery, key,
    project and reviewer grants, named under their own organisation, are random ids to them."""
    outsider, owner = scene.people["outsider"], scene.people["owner"]
    staff = Staff(scene.site.app.state.redis, scene.site.app.state.keys)
    [their_org] = list(await staff.orgs_of(outsider.volunteer_id))
    project = await new_project(scene.api, scene.org_headers)
    page = f"/ngo/orgs/{scene.org_id}/volunteers"
    await owner.post(page, f"{page}/invitations", {"scope": "", "uses": "1", "days": "1"})
    [invitation] = await Invitations(scene.site.app.state.redis, scene.site.app.state.keys).list(
        scene.org_id
    )
    webhooks = Webhooks(scene.site.app.state.redis, scene.site.app.state.keys)
    delivery = Delivery("dlv_mine", project["id"], "tsk_1", "1-0", "failed", 1, "x", None, 1)
    await webhooks.save_delivery(scene.org_id, delivery)
    [key_id] = list(await scene.site.web.accounts.org_keys(scene.org_id))
    theirs = f"/ngo/orgs/{their_org}"
    for mine, random in (
        (f"{theirs}/volunteers/invitations/{invitation.id}/revoke",
         f"{theirs}/volunteers/invitations/inv_00000000deadbeef/revoke"),
        (f"{theirs}/delivery/dlv_mine/replay", f"{theirs}/delivery/dlv_random/replay"),
        (f"{theirs}/keys/{key_id}/revoke", f"{theirs}/keys/key_random/revoke"),
        (f"/ngo/projects/{project['id']}/access", "/ngo/projects/prj_00000000000000000000/access"),
        (f"/ngo/projects/{project['id']}/reviewers",
         "/ngo/projects/prj_0000000000000000000x/reviewers"),
    ):  # fmt: skip
        assert (await outsider.post_by_hand(mine, {})).status_code == 404, mine
        assert (await outsider.post_by_hand(random, {})).status_code == 404, random
    assert (await outsider.client.get(f"/ngo/projects/{project['id']}/access")).status_code == 404
    assert len(await Invitations(scene.site.app.state.redis, scene.site.app.state.keys).list(
        scene.org_id)) == 1  # fmt: skip
    assert (await webhooks.deliveries(scene.org_id))[0].status == "failed"
    assert len(await scene.site.web.accounts.org_keys(scene.org_id)) == 1


async def test_reviewer_grants_by_address_or_id(scene: StaffScene) -> None:
    manager = scene.people["manager"]
    project = await new_project(scene.api, scene.org_headers)
    access = f"/ngo/projects/{project['id']}/access"
    ada, _ = await _volunteer(scene, "Ada")
    # The staff from reviewer up review every project of the organisation already.
    staff = {
        person.volunteer_id
        for role, person in scene.people.items()
        if role in ("owner", "manager", "reviewer")
    }
    unknown = await manager.post(
        access, f"/ngo/projects/{project['id']}/reviewers", {"who": "x@example.org"}
    )
    assert unknown.status_code == 422 and 'id="reviewer-who-error"' in unknown.text
    granted = await manager.post(
        access, f"/ngo/projects/{project['id']}/reviewers", {"who": ada.volunteer_id}
    )
    assert granted.status_code == 303
    listed = await scene.api.get(
        f"/v1/projects/{project['id']}/reviewers", headers=scene.org_headers
    )
    assert set(listed.json()["items"]) == staff | {ada.volunteer_id}
    assert "Ada" in (await scene.people["viewer"].client.get(access)).text
    revoked = await manager.post(
        access, f"/ngo/projects/{project['id']}/reviewers/{ada.volunteer_id}/revoke", {}
    )
    assert revoked.status_code == 303
    listed = await scene.api.get(
        f"/v1/projects/{project['id']}/reviewers", headers=scene.org_headers
    )
    assert set(listed.json()["items"]) == staff
    audit = await _project_audit(scene, project["id"])
    assert [e["action"] for e in audit] == ["project.reviewer_granted", "project.reviewer_revoked"]
    assert all(e["by"] == manager.volunteer_id and e["role"] == "manager" for e in audit)


async def test_the_contributor_report_and_its_csv(scene: StaffScene, redis_url: str) -> None:
    project = await new_project(scene.api, scene.org_headers, name="Leaflets")
    project_id = project["id"]
    made = await submit(
        scene.api, scene.org_headers, project_id, [{"payload": translation(i)} for i in range(2)]
    )
    assert made["accepted"] == 2
    ada, ada_api = await _volunteer(scene, "=Ada")  # a name a spreadsheet would run
    board = Board(redis.Redis.from_url(redis_url, decode_responses=True))
    for _ in range(2):
        claim = await scene.api.post("/v1/assignments", headers=ada_api)
        assert claim.status_code == 201
        lease = claim.json()
        sent = await scene.api.post(
            f"/v1/assignments/{lease['id']}/submit",
            json={"answer": {"text": "Lavez-vous les mains, s'il vous plaît."}},
            headers=ada_api,
        )
        assert sent.status_code == 202, sent.text
        assert record_submission(
            board, project_id, lease["task"]["id"], sent.json()["submission_id"]
        )
    await fold_project_async(scene.site.app.state.board, project_id)

    viewer = scene.people["viewer"]
    shown = await viewer.client.get(f"/ngo/orgs/{scene.org_id}/report?lang=en")
    assert shown.status_code == 200 and "=Ada" in shown.text
    assert "No certificate issued yet." in shown.text
    assert (await ada.client.get("/me/certificate?lang=en")).status_code == 200  # issues it
    [certificate_id] = await scene.site.app.state.redis.zrange(
        scene.site.app.state.keys.volunteer_certificates(ada.volunteer_id), 0, -1
    )
    shown = await viewer.client.get(f"/ngo/orgs/{scene.org_id}/report?lang=en")
    assert f'href="/certificates/{certificate_id}"' in shown.text
    assert "Certificate of =Ada" in shown.text
    for period in ("all", month_of(int(time.time() * 1000))):
        got = await viewer.client.get(f"/ngo/orgs/{scene.org_id}/report.csv?period={period}")
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(got.text)))
        assert len(rows) == 1, got.text
        row = rows[0]
        assert row["volunteer_id"] == ada.volunteer_id and row["volunteer"] == "'=Ada"
        assert row["period"] == period and row["task_type"] == "translation"
        assert row["answers"] == "2" and int(row["amount"]) > 0
        assert row["unit"] == "words translated" and float(row["hours"]) >= 0
    empty = await viewer.client.get(f"/ngo/orgs/{scene.org_id}/report.csv?period=2001-01")
    assert list(csv.reader(io.StringIO(empty.text)))[1:] == []
    board.client.close()


async def test_the_webhook_secret_is_shown_once_rotated_and_deliveries_replayed(
    scene: StaffScene,
) -> None:
    owner = scene.people["owner"]
    page = f"/ngo/orgs/{scene.org_id}/delivery"
    refused = await owner.post(page, f"{page}/endpoint", {"url": "ftp://example.org/x"})
    assert refused.status_code == 422 and 'id="webhook-url-error"' in refused.text
    made = await owner.post(page, f"{page}/endpoint", {"url": "http://127.0.0.1:9/hook"})
    first = SECRET.search(made.text)
    assert made.status_code == 200 and first is not None
    again = await owner.client.get(page)
    assert first.group(1) not in again.text and "127.0.0.1:9/hook" in again.text
    rotated = await owner.post(page, f"{page}/endpoint", {"rotate": "1"})
    second = SECRET.search(rotated.text)
    assert second is not None and second.group(1) != first.group(1)
    webhooks = Webhooks(scene.site.app.state.redis, scene.site.app.state.keys)
    endpoint = await webhooks.endpoint(scene.org_id)
    assert endpoint is not None and endpoint.secret == second.group(1)

    delivery = Delivery("dlv_1", "prj_x", "tsk_1", "1-0", "failed", 3, "HTTP 500", None, 1)
    await webhooks.save_delivery(scene.org_id, delivery)
    listed = await owner.client.get(page + "?lang=en")
    assert "HTTP 500" in listed.text and "Failed" in listed.text
    replayed = await owner.post(page, f"{page}/dlv_1/replay", {})
    assert replayed.status_code == 303
    due = await scene.site.app.state.redis.zscore(
        scene.site.app.state.keys.webhook_due, f"{scene.org_id}|dlv_1"
    )
    assert due is not None
    assert (await owner.post(page, f"{page}/dlv_nope/replay", {})).status_code == 404
    kinds = [entry["type"] for entry in await _org_trail(scene)][:3]
    assert kinds == ["delivery.replayed", "webhook.set", "webhook.set"]
    assert all(second.group(1) not in str(e) for e in await _org_trail(scene))
    removed = await owner.post(page, f"{page}/endpoint/remove", {})
    assert removed.status_code == 303 and await webhooks.endpoint(scene.org_id) is None


async def test_api_keys_are_shown_once_two_live_at_most_never_none(scene: StaffScene) -> None:
    owner = scene.people["owner"]
    page = f"/ngo/orgs/{scene.org_id}/keys"
    assert (await scene.api.get("/v1/org", headers=scene.org_headers)).status_code == 200
    listed = await owner.client.get(page + "?lang=en")
    assert "Not used yet" not in listed.text  # the first key was just used
    made = await owner.post(page, f"{page}/new", {})
    token = NEW_KEY.search(made.text)
    assert made.status_code == 200 and token is not None
    assert token.group(1) not in (await owner.client.get(page)).text
    new_api = {"Authorization": f"Bearer {token.group(1)}"}
    assert (await scene.api.get("/v1/org", headers=new_api)).status_code == 200
    third = await owner.post(page, f"{page}/new", {})
    assert third.status_code == 409 and 'id="keys-error"' in third.text
    keys = await scene.site.web.accounts.org_keys(scene.org_id)
    first_id = next(k for k in keys if k != _key_of(keys, token.group(1)))
    revoked = await owner.post(page, f"{page}/{first_id}/revoke", {})
    assert revoked.status_code == 303
    assert (await scene.api.get("/v1/org", headers=scene.org_headers)).status_code == 401
    last = _key_of(await scene.site.web.accounts.org_keys(scene.org_id), token.group(1))
    refused = await owner.post(page, f"{page}/{last}/revoke", {})
    assert refused.status_code == 409
    assert (await scene.api.get("/v1/org", headers=new_api)).status_code == 200
    assert (await owner.post(page, f"{page}/{first_id}/revoke", {})).status_code == 404
    kinds = [entry["type"] for entry in await _org_trail(scene)][:2]
    assert kinds == ["api_key.revoked", "api_key.created"]


def _key_of(keys: dict[str, dict[str, object]], token: str) -> str:
    from core.accounts.tokens import token_hash

    return next(key_id for key_id, record in keys.items() if record["hash"] == token_hash(token))
