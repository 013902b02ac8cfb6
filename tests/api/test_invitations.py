"""Volunteer invitations: made, listed and revoked by the operator and by organisations, each
seeing only its own; with ``RUCHE_SIGNUP=invitation`` they open ``POST /v1/volunteers`` and the
join page, as many times as they allow, until they expire."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from core.accounts.invitations import Invitations
from core.redis.keys import Keys
from core.settings import Settings
from tests.support.api.client import ADMIN, ADMIN_TOKEN, Actors, app_client
from tests.support.web_inprocess import csrf_token

pytestmark = pytest.mark.anyio


@pytest.fixture
async def closed(redis_client: redis.Redis, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, signup="invitation")
    async with app_client(settings) as client:
        yield client


def _volunteer(invite: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"display_name": "Ada", "languages": ["fr"]}
    if invite is not None:
        body["invite"] = invite
    return body


async def test_an_invitation_opens_sign_up_as_many_times_as_it_allows(
    closed: httpx.AsyncClient,
) -> None:
    made = await closed.post("/v1/invitations", json={"uses": 2}, headers=ADMIN)
    assert made.status_code == 201, made.text
    invitation = made.json()
    assert invitation["url"] == f"http://ruche/join?invite={invitation['code']}"
    assert invitation["uses"] == 2 and invitation["used"] == 0

    without = await closed.post("/v1/volunteers", json=_volunteer())
    assert without.status_code == 403 and without.json()["error"]["code"] == "signup_closed"
    for _ in range(2):
        joined = await closed.post("/v1/volunteers", json=_volunteer(invitation["code"]))
        assert joined.status_code == 201, joined.text
    spent = await closed.post("/v1/volunteers", json=_volunteer(invitation["code"]))
    assert spent.status_code == 403
    assert spent.json()["error"]["code"] == "invitation_refused"
    assert spent.json()["error"]["details"] == [{"reason": "used_up"}]
    unknown = await closed.post("/v1/volunteers", json=_volunteer("not-a-code"))
    assert unknown.json()["error"]["details"] == [{"reason": "unknown"}]

    listed = (await closed.get("/v1/invitations", headers=ADMIN)).json()["items"]
    assert [(i["id"], i["used"]) for i in listed] == [(invitation["id"], 2)]
    assert "code" not in listed[0]


async def test_an_expired_or_revoked_invitation_opens_nothing(
    closed: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    expiring = (await closed.post("/v1/invitations", json={}, headers=ADMIN)).json()
    revoked = (await closed.post("/v1/invitations", json={}, headers=ADMIN)).json()
    # Its date passes: the stored expiry is moved to the past, as time would.
    [key] = [k for k in redis_client.scan_iter(Keys().invitation("*"))
             if redis_client.hget(k, "id") == expiring["id"]]  # fmt: skip
    redis_client.hset(key, "expires", 1)
    refused = await closed.post("/v1/volunteers", json=_volunteer(expiring["code"]))
    assert refused.json()["error"]["details"] == [{"reason": "expired"}]

    assert (
        await closed.delete(f"/v1/invitations/{revoked['id']}", headers=ADMIN)
    ).status_code == 204
    refused = await closed.post("/v1/volunteers", json=_volunteer(revoked["code"]))
    assert refused.json()["error"]["details"] == [{"reason": "unknown"}]
    again = await closed.delete(f"/v1/invitations/{revoked['id']}", headers=ADMIN)
    assert again.status_code == 204  # idempotent
    unknown = await closed.delete("/v1/invitations/inv_0000000000000000", headers=ADMIN)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "invitation_not_found"


async def test_organisations_see_and_revoke_only_their_own_invitations(
    closed: httpx.AsyncClient,
) -> None:
    actors = Actors(closed)
    _, first = await actors.org("First")
    _, second = await actors.org("Second")
    mine = (await closed.post("/v1/invitations", json={"expires_in_days": 3}, headers=first)).json()
    assert (await closed.get("/v1/invitations", headers=second)).json()["items"] == []
    assert (await closed.get("/v1/invitations", headers=ADMIN)).json()["items"] == []
    assert (await closed.delete(f"/v1/invitations/{mine['id']}", headers=second)).status_code == 404
    assert len((await closed.get("/v1/invitations", headers=first)).json()["items"]) == 1
    joined = await closed.post("/v1/volunteers", json=_volunteer(mine["code"]))
    assert joined.status_code == 201
    # The operator may revoke any organisation's invitation.
    other = (await closed.post("/v1/invitations", json={}, headers=second)).json()
    assert (await closed.delete(f"/v1/invitations/{other['id']}", headers=ADMIN)).status_code == 204
    assert (await closed.get("/v1/invitations", headers=second)).json()["items"] == []
    refused = await closed.post("/v1/volunteers", json=_volunteer(other["code"]))
    assert refused.json()["error"]["details"] == [{"reason": "unknown"}]


async def test_who_may_make_invitations_and_what_they_may_ask(closed: httpx.AsyncClient) -> None:
    volunteer = await closed.post("/v1/volunteers", json=_volunteer(
        (await closed.post("/v1/invitations", json={}, headers=ADMIN)).json()["code"]))  # fmt: skip
    as_volunteer = {"Authorization": f"Bearer {volunteer.json()['token']}"}
    assert (await closed.post("/v1/invitations", json={}, headers=as_volunteer)).status_code == 403
    assert (await closed.post("/v1/invitations", json={})).status_code == 401
    assert (await closed.get("/v1/invitations")).status_code == 401
    for bad in ({"uses": 0}, {"uses": 10_001}, {"expires_in_days": 366}, {"uses": "2"}, {"x": 1}):
        answer = await closed.post("/v1/invitations", json=bad, headers=ADMIN)
        assert answer.status_code == 422, bad
        assert answer.json()["error"]["code"] == "invalid_request"
    not_json = await closed.post("/v1/invitations", content=b"{", headers=ADMIN)
    assert not_json.status_code == 422


async def test_with_open_sign_up_an_invite_field_is_ignored(client: httpx.AsyncClient) -> None:
    joined = await client.post("/v1/volunteers", json=_volunteer("anything"))
    assert joined.status_code == 201


async def test_the_join_page_carries_the_code_and_says_what_is_wrong_with_one(
    closed: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    code = (await closed.post("/v1/invitations", json={}, headers=ADMIN)).json()["code"]
    closed_page = await closed.get("/join")
    assert closed_page.status_code == 200 and "by invitation only" in closed_page.text
    assert 'name="display_name"' not in closed_page.text
    page = await closed.get(f"/join?invite={code}&lang=en")
    assert f'name="invite" value="{code}"' in page.text
    assert f"invite={code}&amp;lang=fr" in page.text  # switching language keeps the code
    form = {"display_name": "Noor", "languages": "ar", "invite": code}
    joined = await closed.post("/join", data={**form, "csrf_token": csrf_token(page.text)})
    assert joined.status_code == 303 and joined.headers["location"] == "/welcome"

    other = httpx.AsyncClient(transport=closed._transport, base_url="http://ruche")
    used_up = await other.get(f"/join?invite={code}")
    assert used_up.status_code == 403
    assert "used as many times as it allows" in used_up.text
    assert 'name="display_name"' not in used_up.text
    unknown = await other.get("/join?invite=nope")
    assert unknown.status_code == 403 and "This invitation code is not valid" in unknown.text
    # A code in the form used up meanwhile: refused, nothing made.
    page = await other.get("/login")  # any page's form token does
    forged = await other.post("/join", data={**form, "csrf_token": csrf_token(page.text)})
    assert forged.status_code == 403 and "used as many times" in forged.text


async def test_concurrent_joins_on_a_last_use_admit_one(
    redis_client: redis.Redis, redis_url: str
) -> None:
    import asyncio

    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        invitations = Invitations(client, Keys())
        _, code = await invitations.create("admin", uses=3, expires_in_days=1)
        outcomes = await asyncio.gather(
            *(invitations.redeem(code) for _ in range(20)), return_exceptions=True
        )
        assert sum(1 for o in outcomes if not isinstance(o, Exception)) == 3
        assert [i.used for i in await invitations.list("admin")] == [3]
    finally:
        await client.aclose()


async def test_a_project_invitation_admits_to_that_project_only(
    closed: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    actors = Actors(closed)
    _, first = await actors.org("First")
    _, second = await actors.org("Second")
    made = await closed.post(
        "/v1/projects",
        json={"name": "Quiet", "task_type": "moderation", "instructions": "Label it.",
              "invitation_only": True},
        headers=first,
    )  # fmt: skip
    assert made.status_code == 201 and made.json()["invitation_only"] is True
    project_id = made.json()["id"]
    operator = await closed.post("/v1/invitations", json={"project_id": project_id}, headers=ADMIN)
    assert operator.status_code == 422
    another = await closed.post("/v1/invitations", json={"project_id": project_id}, headers=second)
    random = await closed.post(
        "/v1/invitations", json={"project_id": "prj_" + "0" * 20}, headers=first
    )
    assert another.status_code == random.status_code == 404
    assert another.json()["error"]["code"] == random.json()["error"]["code"] == "project_not_found"
    invitation = await closed.post(
        "/v1/invitations", json={"project_id": project_id}, headers=first
    )
    assert invitation.status_code == 201 and invitation.json()["project_id"] == project_id
    listed = (await closed.get("/v1/invitations", headers=first)).json()["items"]
    assert [item["project_id"] for item in listed] == [project_id]
    joined = await closed.post("/v1/volunteers", json=_volunteer(invitation.json()["code"]))
    assert joined.status_code == 201
    admitted = redis_client.smembers(Keys().volunteer_admitted(joined.json()["id"]))
    assert {str(m) for m in admitted} == {project_id}
    opened = await closed.patch(
        f"/v1/projects/{project_id}", json={"invitation_only": None}, headers=first
    )
    assert opened.status_code == 422  # a setting that is always there: false, never null
