"""The NGO console in process: an organisation and its staff, each person a browser of their
own (a cookie jar) signed in with their volunteer key, for the roles matrix and the forms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.accounts.staff import Role, Staff
from tests.support.api.client import ADMIN
from tests.support.web_inprocess import InProcess

__all__ = ["ROLES", "Person", "StaffScene", "csrf_of", "staff_scene"]

ROLES = ("viewer", "reviewer", "manager", "owner")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, html[:500]
    return found.group(1)


@dataclass
class Person:
    volunteer_id: str
    client: httpx.AsyncClient

    async def post(self, page: str, action: str, fields: dict[str, Any]) -> httpx.Response:
        """Opens ``page`` (for a CSRF token of this person's session) and posts ``fields``."""
        opened = await self.client.get(page)
        return await self.client.post(action, data={**fields, "csrf_token": csrf_of(opened.text)})

    async def post_by_hand(self, action: str, fields: dict[str, Any]) -> httpx.Response:
        """Posts with a valid CSRF token of this session taken from a page anyone may open."""
        opened = await self.client.get("/logout")
        return await self.client.post(action, data={**fields, "csrf_token": csrf_of(opened.text)})


@dataclass
class StaffScene:
    site: InProcess
    api: httpx.AsyncClient
    org_id: str
    org_headers: dict[str, str]
    people: dict[str, Person] = field(default_factory=dict)  # role name (or "outsider") -> person
    anonymous: httpx.AsyncClient | None = None

    async def close(self) -> None:
        for person in self.people.values():
            await person.client.aclose()
        if self.anonymous is not None:
            await self.anonymous.aclose()
        await self.api.aclose()


async def signed_in_person(site: InProcess, api: httpx.AsyncClient, name: str) -> Person:
    made = await api.post("/v1/volunteers", json={"display_name": name, "languages": ["fr", "en"]})
    assert made.status_code == 201, made.text
    body = made.json()
    client = site.client()
    login = await client.get("/login?lang=en")
    signed = await client.post(
        "/login/code",
        data={"csrf_token": csrf_of(login.text), "code": body["token"], "next": "/ngo"},
    )
    assert signed.status_code == 303, signed.text
    return Person(str(body["id"]), client)


async def new_org(api: httpx.AsyncClient, name: str) -> tuple[str, dict[str, str]]:
    response = await api.post(
        "/v1/orgs", json={"name": name, "contact_email": "ops@example.org"}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return str(body["id"]), {"Authorization": f"Bearer {body['api_key']}"}


async def staff_scene(site: InProcess, org_name: str = "Helping Hands") -> StaffScene:
    """An organisation with one person per role, and an outsider (on another organisation's
    staff, as owner)."""
    api = site.client()
    org_id, headers = await new_org(api, org_name)
    scene = StaffScene(site, api, org_id, headers, anonymous=site.client())
    staff = Staff(site.app.state.redis, site.app.state.keys)
    for role_name in ROLES:
        person = await signed_in_person(site, api, role_name.title())
        role = Role.parse(role_name)
        assert role is not None
        await staff.add(org_id, person.volunteer_id, role, by="admin")
        site.web.accounts.forget_volunteer(person.volunteer_id)  # read again, staff flag and all
        scene.people[role_name] = person
    other_org, _ = await new_org(api, "Other NGO")
    outsider = await signed_in_person(site, api, "Outsider")
    await staff.add(other_org, outsider.volunteer_id, Role.OWNER, by="admin")
    site.web.accounts.forget_volunteer(outsider.volunteer_id)
    scene.people["outsider"] = outsider
    return scene
