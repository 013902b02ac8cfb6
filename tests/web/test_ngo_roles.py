"""The console's roles matrix in process: every console route, for someone not signed in,
someone not on the organisation's staff, and each role; a form posted by hand by a role that
may not use it is refused; another organisation's project is the same 404 as a random id."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

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


def _least(role: str) -> int:
    return ROLES.index(role)


async def test_pages_by_role(scene: StaffScene) -> None:
    project = await new_project(scene.api, scene.org_headers)
    assert project["id"]
    pages = {
        f"/ngo/orgs/{scene.org_id}": "viewer",
        f"/ngo/projects/{project['id']}": "viewer",
        **org_pages(scene.org_id, project["id"]),
    }
    assert scene.anonymous is not None
    for path in pages:
        response = await scene.anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
        outsider = await scene.people["outsider"].client.get(path)
        assert outsider.status_code == 404, path
    for path, least in pages.items():
        for role in ROLES:
            response = await scene.people[role].client.get(path)
            expected = 200 if _least(role) >= _least(least) else 403
            assert response.status_code == expected, (path, role, response.text[:300])


async def test_org_forms_by_role_posted_by_hand(scene: StaffScene) -> None:
    """Each form of the volunteers, delivery and keys pages, posted by hand by every role: a
    role below the form's refused (403), and nothing changed; the others are let through."""
    project = await new_project(scene.api, scene.org_headers)
    for path, least in org_forms(scene.org_id, project["id"]).items():
        for role in ROLES:
            response = await scene.people[role].post_by_hand(path, {})
            if _least(role) < _least(least):
                assert response.status_code == 403, (path, role)
            else:
                assert response.status_code != 403, (path, role, response.text[:300])
        outsider = await scene.people["outsider"].post_by_hand(path, {})
        assert outsider.status_code == 404, path
