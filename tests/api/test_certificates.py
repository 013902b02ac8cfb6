"""Certificates: signed as issued, given again while the figures hold, not genuine once a figure
is changed in Redis, revoked by the operator through the API (once; the first time stays)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio

from core.ids import new_volunteer_id
from core.redis.keys import Keys
from core.volunteers.certificates import (
    CERTIFICATE_ID,
    Certificates,
    new_certificate_id,
)
from tests.support.api.client import ADMIN, Actors
from web.secret import ServerSecret

pytestmark = pytest.mark.anyio

FIGURES = {
    "name": "Amina",
    "lines": [
        {
            "org_id": "org_" + "a" * 20,
            "organisation": "Lingua Aid",
            "task_type": "translation",
            "unit": "words translated",
            "tasks": 12,
            "minutes": 95,
            "amount": 340,
            "reviews": 2,
            "review_minutes": 7,
        }
    ],
    "totals": {"tasks": 12, "minutes": 95, "reviews": 2, "review_minutes": 7},
}


@pytest.fixture
async def store(redis_url: str, redis_client: object) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


def certificates(store: redis.asyncio.Redis) -> Certificates:
    return Certificates(store, Keys(), ServerSecret(store, Keys()))


async def test_a_certificate_is_signed_and_given_again_while_its_figures_hold(
    store: redis.asyncio.Redis,
) -> None:
    volunteer = new_volunteer_id()
    issued = await certificates(store).issue(volunteer, FIGURES)
    assert CERTIFICATE_ID.match(issued.id) and issued.genuine

    again = await certificates(store).issue(volunteer, FIGURES)
    assert again.id == issued.id  # a reload issues nothing new

    checked = await certificates(store).get(issued.id)
    assert (checked.genuine, checked.name, checked.totals["minutes"]) == (True, "Amina", 95)
    assert checked.volunteer_id == volunteer and checked.issued_at_ms == issued.issued_at_ms

    more = {**FIGURES, "totals": {**FIGURES["totals"], "minutes": 120}}  # type: ignore[dict-item]
    newer = await certificates(store).issue(volunteer, more)
    assert newer.id != issued.id and newer.genuine
    assert (await certificates(store).get(issued.id)).genuine  # the older one still holds


async def test_a_figure_changed_in_redis_breaks_the_signature(store: redis.asyncio.Redis) -> None:
    issued = await certificates(store).issue(new_volunteer_id(), FIGURES)
    key = Keys().certificate(issued.id)
    record = str(await store.hget(key, "record"))
    assert '"minutes":95' in record
    await store.hset(key, "record", record.replace('"minutes":95', '"minutes":950', 1))

    tampered = await certificates(store).get(issued.id)
    assert not tampered.signed and not tampered.genuine
    assert tampered.lines[0]["minutes"] == 950  # what it claims, shown as not genuine


async def test_unknown_and_malformed_ids_are_not_found(store: redis.asyncio.Redis) -> None:
    from core.errors import CertificateNotFound

    for wrong in (new_certificate_id(), "crt_x", "", "../etc", new_certificate_id().upper()):
        with pytest.raises(CertificateNotFound):
            await certificates(store).get(wrong)


async def test_the_operator_revokes_a_certificate_through_the_api(
    api: httpx.AsyncClient, actors: Actors, store: redis.asyncio.Redis
) -> None:
    volunteer_id, volunteer = await actors.volunteer()
    issued = await certificates(store).issue(volunteer_id, FIGURES)
    _, org = await actors.org()
    for refused, status in ((volunteer, 403), (org, 403), ({}, 401)):
        response = await api.delete(f"/v1/certificates/{issued.id}", headers=refused)
        assert response.status_code == status
    assert (await certificates(store).get(issued.id)).genuine

    first = await api.delete(f"/v1/certificates/{issued.id}", headers=ADMIN)
    assert first.status_code == 200, first.text
    assert first.json()["id"] == issued.id
    second = await api.delete(f"/v1/certificates/{issued.id}", headers=ADMIN)
    assert second.json()["revoked_at"] == first.json()["revoked_at"]

    revoked = await certificates(store).get(issued.id)
    assert revoked.signed and not revoked.genuine and revoked.revoked_at_ms is not None
    # Visiting the page again gives the same, revoked, certificate: revoking sticks.
    assert (await certificates(store).issue(volunteer_id, FIGURES)).id == issued.id

    for unknown in (new_certificate_id(), "crt_nope"):
        missing = await api.delete(f"/v1/certificates/{unknown}", headers=ADMIN)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "certificate_not_found"
