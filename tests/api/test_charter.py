"""The charter: its text and version can be read (GET /v1/me/charter), per organisation falling
back to the operator's; a new version of the operator's asks for acceptance again before the next
claim, and accepting it lets the volunteer claim again."""

from __future__ import annotations

import httpx
import pytest

from core.accounts.charter import DEFAULT_CHARTER
from tests.support.api.client import ADMIN, Actors
from tests.support.api.volunteers import Scene

pytestmark = pytest.mark.anyio


async def test_the_charter_can_be_read_before_and_after_accepting_it(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, me = await actors.volunteer(charter=False)
    before = (await api.get("/v1/me/charter", headers=me)).json()
    assert before == {
        "text": DEFAULT_CHARTER, "version": 1, "owner": "operator", "organisation": None,
        "accepted_version": 0, "needs_acceptance": True,
    }  # fmt: skip
    accepted = await api.post("/v1/me/charter", json={"accept": True}, headers=me)
    assert accepted.json()["version"] == 1
    after = (await api.get("/v1/me/charter", headers=me)).json()
    assert (after["accepted_version"], after["needs_acceptance"]) == (1, False)


async def test_a_new_version_asks_for_acceptance_again_before_the_next_claim(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    await world.project(2)
    _, me = await actors.volunteer()  # accepted version 1
    assert (await api.post("/v1/assignments", json={}, headers=me)).status_code == 201
    changed = await api.put("/v1/charter", json={"text": "Version two."}, headers=ADMIN)
    assert changed.json()["version"] == 2
    refused = await api.post("/v1/assignments", json={}, headers=me)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "charter_not_accepted"
    assert "version 2" in refused.json()["error"]["message"]
    charter = (await api.get("/v1/me/charter", headers=me)).json()
    assert (charter["text"], charter["needs_acceptance"]) == ("Version two.", True)
    await api.post("/v1/me/charter", json={"accept": True}, headers=me)
    assert (await api.post("/v1/assignments", json={}, headers=me)).status_code == 201


async def test_an_organisation_serves_its_own_charter_else_the_operators(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    org_id, org = await actors.org("Les Amis")
    _, me = await actors.volunteer()
    fallback = (await api.get("/v1/me/charter", params={"org_id": org_id}, headers=me)).json()
    assert (fallback["owner"], fallback["text"]) == ("operator", DEFAULT_CHARTER)
    own = await api.put("/v1/org/charter", json={"text": "Nos règles."}, headers=org)
    assert own.json() == {
        "text": "Nos règles.", "version": 1, "owner": org_id, "organisation": "Les Amis",
    }  # fmt: skip
    read = (await api.get("/v1/me/charter", params={"org_id": org_id}, headers=me)).json()
    assert (read["text"], read["needs_acceptance"]) == ("Nos règles.", True)
    await api.post("/v1/me/charter", json={"accept": True, "org_id": org_id}, headers=me)
    read = (await api.get("/v1/me/charter", params={"org_id": org_id}, headers=me)).json()
    assert (read["accepted_version"], read["needs_acceptance"]) == (1, False)
    unknown = await api.get("/v1/me/charter", params={"org_id": "org_nope"}, headers=me)
    assert unknown.status_code == 404
