"""Webhook endpoint registration (with the SSRF guard) and the deliveries listing."""

from __future__ import annotations

import base64

import httpx
import pytest
import redis
import redis.asyncio

from core.delivery.webhooks import Delivery, Webhooks
from core.redis.keys import Keys
from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN, Actors, AppClient
from tests.support.api.ngo import volunteer_token

pytestmark = pytest.mark.anyio


async def test_an_endpoint_is_set_with_a_secret_shown_once(
    api: httpx.AsyncClient, actors: Actors, redis_client: redis.Redis
) -> None:
    org_id, org = await actors.org()
    assert (await api.get("/v1/webhook", headers=org)).json()["url"] is None
    response = await api.put(
        "/v1/webhook", json={"url": "http://127.0.0.1:9000/hooks"}, headers=org
    )
    assert response.status_code == 200
    body = response.json()
    assert body["url"] == "http://127.0.0.1:9000/hooks"
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) >= 24
    assert redis_client.hget(Keys().org_webhook(org_id), "secret") == body["secret"]

    shown = await api.get("/v1/webhook", headers=org)
    assert shown.json()["url"] == "http://127.0.0.1:9000/hooks"
    assert body["secret"] not in shown.text and "secret" not in shown.json()

    rotated = (
        await api.put("/v1/webhook", json={"url": "https://93.184.216.34/h"}, headers=org)
    ).json()
    assert rotated["secret"] != body["secret"]
    assert (await api.delete("/v1/webhook", headers=org)).status_code == 204
    assert (await api.get("/v1/webhook", headers=org)).json()["url"] is None


REFUSED = [
    "https://0/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://127.1/",
    "https://[::ffff:127.0.0.1]/",
    "https://10.1.2.3/",
    "https://169.254.169.254/latest",
    "https://100.64.0.1/",
    "https://[::1]/",
    "https://0.0.0.0/",
    "http://93.184.216.34/",
    "https://user:pw@93.184.216.34/",
    "ftp://93.184.216.34/",
    "not a url",
]


async def test_internal_and_insecure_targets_are_refused_in_production_mode(
    make_client: AppClient, redis_url: str, redis_client: redis.Redis
) -> None:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, webhook_allow_private=False)
    async with make_client(settings) as strict:
        org_id, org = await Actors(strict).org()
        for url in REFUSED:
            response = await strict.put("/v1/webhook", json={"url": url}, headers=org)
            assert response.status_code == 422, url
            error = response.json()["error"]
            assert error["code"] == "webhook_target_refused", url
        assert not redis_client.exists(Keys().org_webhook(org_id))
        accepted = await strict.put(
            "/v1/webhook", json={"url": "https://93.184.216.34/hooks"}, headers=org
        )
        assert accepted.status_code == 200


async def test_webhook_bodies_are_validated(api: httpx.AsyncClient, actors: Actors) -> None:
    _, org = await actors.org()
    for body in (
        {},
        {"url": ""},
        {"url": "https://93.184.216.34/", "events": ["all"]},
        {"url": "https://93.184.216.34/" + "a" * 2100},
    ):
        response = await api.put("/v1/webhook", json=body, headers=org)
        assert response.status_code == 422


async def test_deliveries_are_listed_newest_first_and_can_be_redelivered(
    api: httpx.AsyncClient, actors: Actors, redis_url: str, redis_client: redis.Redis
) -> None:
    org_id, org = await actors.org()
    _, other = await actors.org("Other")
    assert (await api.get("/v1/webhook/deliveries", headers=org)).json() == {"items": []}

    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    webhooks = Webhooks(client, Keys())
    for n, status in enumerate(["delivered", "failed"]):
        await webhooks.save_delivery(
            org_id,
            Delivery(
                delivery_id=f"dlv_{n}",
                project_id="prj_0123456789abcdefghjk",
                task_id=f"t000000000{n}",
                result_id=f"{n + 1}-0",
                status=status,
                attempts=n + 1,
                last_error=None if n == 0 else "HTTP 500",
                next_attempt_at_ms=None,
                created_at_ms=1_700_000_000_000 + n,
            ),
        )
    await client.aclose()

    items = (await api.get("/v1/webhook/deliveries", headers=org)).json()["items"]
    assert [i["delivery_id"] for i in items] == ["dlv_1", "dlv_0"]
    assert items[0]["status"] == "failed" and items[0]["attempts"] == 2
    assert items[0]["last_error"] == "HTTP 500" and items[0]["next_attempt_at"] is None
    assert items[0]["task_id"] == "t0000000001"

    redone = await api.post("/v1/webhook/deliveries/dlv_1/redeliver", headers=org)
    assert redone.status_code == 202
    assert redone.json()["status"] == "pending" and redone.json()["next_attempt_at"]
    assert redis_client.zscore(Keys().webhook_due, f"{org_id}|dlv_1") is not None

    for headers, delivery_id in ((org, "dlv_404"), (other, "dlv_1")):
        missing = await api.post(f"/v1/webhook/deliveries/{delivery_id}/redeliver", headers=headers)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "delivery_not_found"
    assert (await api.get("/v1/webhook/deliveries", headers=other)).json() == {"items": []}


async def test_webhook_routes_need_an_organisation_token(
    api: httpx.AsyncClient, redis_url: str
) -> None:
    _, volunteer = await volunteer_token(redis_url)
    body = {"url": "https://93.184.216.34/"}
    assert (await api.put("/v1/webhook", json=body)).status_code == 401
    assert (await api.put("/v1/webhook", json=body, headers=volunteer)).status_code == 403
    assert (await api.get("/v1/webhook/deliveries", headers=volunteer)).status_code == 403
    redeliver = await api.post("/v1/webhook/deliveries/x/redeliver", headers=volunteer)
    assert redeliver.status_code == 403
