"""Volunteer accounts: sign-up, the charter, the profile with its stats, review rights and goal."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
import redis

from core.redis.keys import Keys
from core.settings import Settings
from core.volunteers.stats import week_field
from task_types import names as task_type_names
from tests.support.api.client import ADMIN_TOKEN, Actors, AppClient
from tests.support.api.volunteers import Scene, bearer

pytestmark = pytest.mark.anyio


async def sign_up(api: httpx.AsyncClient, **fields: object) -> httpx.Response:
    body = {"display_name": "Ada", "languages": ["fr", "en"], **fields}
    return await api.post("/v1/volunteers", json=body)


# -- sign-up -----------------------------------------------------------------------------------


async def test_sign_up_returns_an_id_and_a_volunteer_token_once(api: httpx.AsyncClient) -> None:
    response = await sign_up(api, skills=["medical"])
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "token"}
    assert body["id"].startswith("vol_")
    assert body["token"].startswith("rk_vol_")
    me = (await api.get("/v1/me", headers=bearer(body["token"]))).json()
    assert (me["id"], me["display_name"], me["languages"], me["skills"]) == (
        body["id"], "Ada", ["fr", "en"], ["medical"],
    )  # fmt: skip


async def test_a_new_profile_has_no_charter_no_goal_and_zero_stats(
    api: httpx.AsyncClient,
) -> None:
    token = (await sign_up(api)).json()["token"]
    me = (await api.get("/v1/me", headers=bearer(token))).json()
    assert me["charter_accepted_at"] is None
    assert me["weekly_goal_minutes"] is None
    assert me["reviewer_of"] == []
    assert me["feedback"] == []
    stats = me["stats"]
    assert (stats["tasks"], stats["minutes"], stats["week_minutes"]) == (0, 0, 0)
    assert stats["accepted_rate"] is None
    assert set(stats["contribution"]) == set(task_type_names())
    assert stats["contribution"]["translation"] == {"amount": 0, "unit": "words translated"}


@pytest.mark.parametrize(
    "fields",
    [
        {"languages": []},
        {"languages": ["French"]},
        {"languages": ["fr_FR "]},
        {"display_name": "   "},
        {"skills": ["\x07bell"]},
        {"role": "admin"},
    ],
)
async def test_sign_up_refuses_invalid_profiles(
    api: httpx.AsyncClient, fields: dict[str, object]
) -> None:
    response = await sign_up(api, **fields)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


async def test_sign_up_drops_duplicate_languages_and_skills(api: httpx.AsyncClient) -> None:
    token = (await sign_up(api, languages=["fr", "FR", "en"], skills=["Med", "med"])).json()[
        "token"
    ]
    me = (await api.get("/v1/me", headers=bearer(token))).json()
    assert (me["languages"], me["skills"]) == (["fr", "en"], ["Med"])


async def test_sign_up_by_invitation_only_is_refused(
    make_client: AppClient, redis_url: str, redis_client: redis.Redis
) -> None:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, signup="invitation")
    async with make_client(settings) as closed:
        response = await sign_up(closed)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "signup_closed"
    assert redis_client.keys("ruche:vol:*") == []


# -- authentication ----------------------------------------------------------------------------

VOLUNTEER_ROUTES = [
    ("GET", "/v1/me", None),
    ("PATCH", "/v1/me", {"display_name": "B"}),
    ("POST", "/v1/me/charter", {"accept": True}),
    ("PUT", "/v1/me/goal", {"weekly_minutes": 60}),
    ("GET", "/v1/me/assignments", None),
    ("POST", "/v1/assignments", {}),
    ("POST", "/v1/reviews", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), VOLUNTEER_ROUTES)
async def test_volunteer_routes_need_a_volunteer_token(
    api: httpx.AsyncClient, actors: Actors, method: str, path: str, body: object
) -> None:
    _, org = await actors.org()
    anonymous = await api.request(method, path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    garbage = await api.request(method, path, json=body, headers=bearer("rk_vol_nope"))
    assert garbage.status_code == 401
    assert garbage.json() == anonymous.json()
    as_org = await api.request(method, path, json=body, headers=org)
    assert as_org.status_code == 403
    assert as_org.json()["error"]["code"] == "forbidden"


# -- charter -----------------------------------------------------------------------------------


async def test_accepting_the_charter_records_when_once(api: httpx.AsyncClient) -> None:
    token = (await sign_up(api)).json()["token"]
    first = await api.post("/v1/me/charter", json={"accept": True}, headers=bearer(token))
    assert first.status_code == 200
    accepted_at = first.json()["accepted_at"]
    assert datetime.fromisoformat(accepted_at).utcoffset() is not None
    again = await api.post("/v1/me/charter", json={"accept": True}, headers=bearer(token))
    assert again.json()["accepted_at"] == accepted_at
    me = (await api.get("/v1/me", headers=bearer(token))).json()
    assert me["charter_accepted_at"] == accepted_at


@pytest.mark.parametrize("body", [{"accept": False}, {}, {"accept": "yes"}])
async def test_the_charter_can_only_be_accepted(
    api: httpx.AsyncClient, body: dict[str, object]
) -> None:
    token = (await sign_up(api)).json()["token"]
    response = await api.post("/v1/me/charter", json=body, headers=bearer(token))
    assert response.status_code == 422
    me = (await api.get("/v1/me", headers=bearer(token))).json()
    assert me["charter_accepted_at"] is None


# -- profile -----------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(api: httpx.AsyncClient) -> None:
    token = (await sign_up(api, skills=["medical"])).json()["token"]
    response = await api.patch(
        "/v1/me", json={"languages": ["sw", "en", "SW"]}, headers=bearer(token)
    )
    assert response.status_code == 200
    assert response.json()["languages"] == ["sw", "en"]
    assert response.json()["skills"] == ["medical"]
    renamed = await api.patch("/v1/me", json={"display_name": " Grace "}, headers=bearer(token))
    assert renamed.json()["display_name"] == "Grace"
    assert renamed.json()["languages"] == ["sw", "en"]


@pytest.mark.parametrize(
    "body", [{"languages": []}, {"languages": ["English"]}, {"display_name": ""}, {"x": 1}]
)
async def test_patch_refuses_invalid_fields(
    api: httpx.AsyncClient, body: dict[str, object]
) -> None:
    token = (await sign_up(api)).json()["token"]
    assert (await api.patch("/v1/me", json=body, headers=bearer(token))).status_code == 422


async def test_the_weekly_goal_is_set_within_a_week_of_minutes(api: httpx.AsyncClient) -> None:
    token = (await sign_up(api)).json()["token"]
    for minutes in (1, 10_080, 90):
        response = await api.put(
            "/v1/me/goal", json={"weekly_minutes": minutes}, headers=bearer(token)
        )
        assert response.status_code == 200
        assert response.json() == {"weekly_minutes": minutes}
    for refused_minutes in (0, -5, 10_081, "lots"):
        refused = await api.put(
            "/v1/me/goal", json={"weekly_minutes": refused_minutes}, headers=bearer(token)
        )
        assert refused.status_code == 422
    me = (await api.get("/v1/me", headers=bearer(token))).json()
    assert me["weekly_goal_minutes"] == 90


async def test_stats_show_what_the_stats_actor_wrote(
    api: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    body = (await sign_up(api)).json()
    now_ms = int(datetime.now().timestamp() * 1000)
    redis_client.hset(
        Keys().volunteer_stats(body["id"]),
        mapping={
            "tasks": 12,
            "minutes": 95,
            "decided": 10,
            "accepted": 8,
            "contribution:translation": 340,
            week_field(now_ms): 25,
            "week:1999-W01:minutes": 999,
        },
    )
    stats = (await api.get("/v1/me", headers=bearer(body["token"]))).json()["stats"]
    assert (stats["tasks"], stats["minutes"], stats["week_minutes"]) == (12, 95, 25)
    assert stats["accepted_rate"] == pytest.approx(0.8)
    assert stats["contribution"]["translation"]["amount"] == 340
    assert stats["contribution"]["moderation"]["amount"] == 0


async def test_the_profile_lists_the_projects_the_volunteer_reviews(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    volunteer_id, headers = await actors.volunteer(["en", "fr"])
    reviewed, _ = await world.project(0)
    await world.project(0)
    await world.grant(reviewed, volunteer_id)
    me = (await api.get("/v1/me", headers=headers)).json()
    assert me["reviewer_of"] == [reviewed]


# -- what a volunteer is told of the projects ----------------------------------------------------


async def test_the_claim_names_the_ngo_the_project_and_its_impact(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project, _ = await world.project(1, impact_note="Clean water for 300 families.")
    _, me = await actors.volunteer()
    await api.post("/v1/me/charter", json={"accept": True}, headers=me)
    claimed = (await api.post("/v1/assignments", json={}, headers=me)).json()
    task = claimed["task"]
    assert task["organisation"] == "Helping Hands"
    assert task["project_name"] and task["instructions"]
    assert task["impact_note"] == "Clean water for 300 families."
    again = (await api.get(f"/v1/assignments/{claimed['id']}", headers=me)).json()
    assert again["task"] == task
    assert task["project_id"] == project


async def test_a_volunteer_lists_the_projects_that_fit_them(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    fitting, _ = await world.project(2, languages=["fr", "en"], impact_note="Thanks!")
    await world.project(1, languages=["fr", "en"], skills=["medical"])  # not for this volunteer
    _, me = await actors.volunteer(["fr", "en"])
    listed = (await api.get("/v1/me/projects", headers=me)).json()["items"]
    assert [item["id"] for item in listed] == [fitting]
    [item] = listed
    assert (item["organisation"], item["impact_note"], item["tasks_left"]) == (
        "Helping Hands", "Thanks!", 2,
    )  # fmt: skip
    me_now = (await api.get("/v1/me", headers=me)).json()
    assert me_now["worked_on"] == []  # nothing answered yet
