"""The console's roles matrix in process: every console route, for someone not signed in,
someone not on the organisation's staff, and each role. A form posted by hand (with a valid
CSRF token of the person's session) by a role below the route's is refused (403) and changes
nothing; an outsider gets 404, as for an id that never existed.

A new console route goes in :func:`_gets` or :func:`_posts` with the least role it needs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.accounts.staff import Role, Staff
from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN
from tests.support.api.ngo import new_project
from tests.support.ngo_org import org_forms, org_pages
from tests.support.ngo_staff import ROLES, StaffScene, staff_scene
from tests.support.web_inprocess import in_process

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def scene(redis_client: object, redis_url: str) -> AsyncIterator[StaffScene]:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN)
    async with in_process(settings) as site:
        made = await staff_scene(site)
        try:
            yield made
        finally:
            await made.close()


def _allowed(role: str, least: str) -> bool:
    return ROLES.index(role) >= ROLES.index(least)


def _gets(org: str, project: str) -> dict[str, str]:
    return {
        f"/ngo/orgs/{org}": "viewer",
        f"/ngo/orgs/{org}/people": "viewer",
        f"/ngo/orgs/{org}/projects/new": "manager",
        f"/ngo/projects/{project}": "viewer",
        f"/ngo/projects/{project}/edit": "manager",
        f"/ngo/projects/{project}/data": "viewer",
        f"/ngo/projects/{project}/results/csv": "reviewer",
        **org_pages(org, project),
    }


def _posts(org: str, project: str, member: str) -> list[tuple[str, dict[str, str], str, int]]:
    """(action, fields, least role, status for an allowed role): the fields are refused by the
    handler itself (422, 404), so a role allowed to post changes nothing either."""
    return [
        (f"/ngo/orgs/{org}/projects/new", {"name": ""}, "manager", 422),
        (f"/ngo/projects/{project}/edit", {"name": ""}, "manager", 422),
        (f"/ngo/projects/{project}/state", {"action": "explode"}, "manager", 422),
        (f"/ngo/projects/{project}/data/upload", {}, "manager", 422),
        (f"/ngo/orgs/{org}/people/invite", {"email": "nope", "role": "owner"}, "owner", 422),
        (f"/ngo/orgs/{org}/people/{member}/role", {"role": "emperor"}, "owner", 422),
        (f"/ngo/orgs/{org}/people/vol_{'z' * 20}/remove", {}, "owner", 404),
        (f"/ngo/orgs/{org}/people/invitations/{'0' * 64}/revoke", {}, "owner", 404),
        *org_forms(org, project),
    ]


async def test_every_page_by_role(scene: StaffScene) -> None:
    project = await new_project(scene.api, scene.org_headers)
    assert scene.anonymous is not None
    for path, least in _gets(scene.org_id, project["id"]).items():
        response = await scene.anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"
        outsider = await scene.people["outsider"].client.get(path)
        assert outsider.status_code == 404, path
        for role in ROLES:
            response = await scene.people[role].client.get(path)
            expected = 200 if _allowed(role, least) else 403
            assert response.status_code == expected, (path, role)


async def test_every_form_posted_by_hand_by_role(scene: StaffScene) -> None:
    project = await new_project(scene.api, scene.org_headers)
    staff = Staff(scene.site.app.state.redis, scene.site.app.state.keys)
    before = await staff.members(scene.org_id)
    viewer = scene.people["viewer"].volunteer_id
    assert scene.anonymous is not None
    for action, fields, least, allowed_status in _posts(scene.org_id, project["id"], viewer):
        anonymous = await scene.anonymous.post(action, data=fields)
        assert anonymous.status_code in (303, 403), action  # to /login, or no CSRF token
        outsider = await scene.people["outsider"].post_by_hand(action, fields)
        assert outsider.status_code == 404, action
        for role in ROLES:
            response = await scene.people[role].post_by_hand(action, fields)
            expected = allowed_status if _allowed(role, least) else 403
            assert response.status_code == expected, (action, role, response.text[:300])
        no_token = await scene.people["owner"].client.post(action, data=fields)
        assert no_token.status_code == 403, action
    assert await staff.members(scene.org_id) == before
    after = await scene.api.get(f"/v1/projects/{project['id']}", headers=scene.org_headers)
    assert after.json()["name"] == project["name"] and after.json()["state"] == "active"
    listed = await scene.api.get("/v1/projects", headers=scene.org_headers)
    assert len(listed.json()["items"]) == 1


async def test_the_console_home_lists_my_organisations(scene: StaffScene) -> None:
    owner = scene.people["owner"]
    one = await owner.client.get("/ngo")
    assert one.status_code == 303 and one.headers["location"] == f"/ngo/orgs/{scene.org_id}"
    staff = Staff(scene.site.app.state.redis, scene.site.app.state.keys)
    other = await scene.api.post(
        "/v1/orgs",
        json={"name": "Second NGO", "contact_email": "b@example.org"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    await staff.add(other.json()["id"], owner.volunteer_id, Role.VIEWER, by="admin")
    two = await owner.client.get("/ngo?lang=en")
    assert two.status_code == 200
    assert "Helping Hands" in two.text and "Second NGO" in two.text
    nobody = await scene.site.client().get("/ngo")
    assert nobody.status_code == 303 and nobody.headers["location"] == "/login?next=/ngo"
