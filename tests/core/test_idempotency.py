"""The idempotency store on its own: claiming, waiting, replaying, letting go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio

from core.errors import IdempotencyInProgress, IdempotencyKeyReused, InvalidRequest
from core.idempotency import TTL_SECONDS, Claim, Idempotency, StoredResponse, fingerprint
from core.redis.keys import Keys

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(redis_client: redis.Redis, redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    aclient = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    yield aclient
    await aclient.aclose()


def test_fingerprints_differ_by_method_path_and_body() -> None:
    base = fingerprint("POST", "/v1/projects/a/tasks", b"{}")
    assert base == fingerprint("post", "/v1/projects/a/tasks", b"{}")
    assert base != fingerprint("POST", "/v1/projects/b/tasks", b"{}")
    assert base != fingerprint("POST", "/v1/projects/a/tasks", b"{ }")
    assert base != fingerprint("PUT", "/v1/projects/a/tasks", b"{}")


async def test_a_claim_is_kept_a_day_then_replayed(
    client: redis.asyncio.Redis, redis_client: redis.Redis
) -> None:
    store = Idempotency(client, Keys())
    claim = await store.begin("org_1", "key", "fp")
    assert isinstance(claim, Claim)
    assert 0 < redis_client.ttl(claim.redis_key) <= TTL_SECONDS
    assert "key" not in claim.redis_key  # stored by digest, never as sent
    await store.complete(claim, 200, {"accepted": 1})
    assert await store.begin("org_1", "key", "fp") == StoredResponse(200, {"accepted": 1})
    with pytest.raises(IdempotencyKeyReused):
        await store.begin("org_1", "key", "other")
    assert isinstance(await store.begin("org_2", "key", "fp"), Claim)


async def test_a_request_still_running_makes_others_wait_then_give_up(
    client: redis.asyncio.Redis,
) -> None:
    store = Idempotency(client, Keys(), wait_seconds=0.2, poll_seconds=0.01)
    claim = await store.begin("org_1", "key", "fp")
    assert isinstance(claim, Claim)
    with pytest.raises(IdempotencyInProgress):
        await store.begin("org_1", "key", "fp")

    async def finish_soon() -> None:
        await asyncio.sleep(0.05)
        await store.complete(claim, 200, {"done": True})

    waiter = asyncio.create_task(store.begin("org_1", "key", "fp"))
    await finish_soon()
    assert await waiter == StoredResponse(200, {"done": True})


async def test_abandoning_frees_the_key_for_a_waiting_retry(client: redis.asyncio.Redis) -> None:
    store = Idempotency(client, Keys(), wait_seconds=1.0, poll_seconds=0.01)
    claim = await store.begin("org_1", "key", "fp")
    assert isinstance(claim, Claim)
    waiter = asyncio.create_task(store.begin("org_1", "key", "fp"))
    await asyncio.sleep(0.03)
    await store.abandon(claim)
    retry = await waiter
    assert isinstance(retry, Claim) and retry.token != claim.token


async def test_abandon_never_deletes_someone_elses_claim(
    client: redis.asyncio.Redis, redis_client: redis.Redis
) -> None:
    store = Idempotency(client, Keys())
    stale = await store.begin("org_1", "key", "fp")
    assert isinstance(stale, Claim)
    redis_client.delete(stale.redis_key)  # e.g. expired
    fresh = await store.begin("org_1", "key", "fp")
    assert isinstance(fresh, Claim)
    await store.abandon(stale)
    assert redis_client.exists(fresh.redis_key)


@pytest.mark.parametrize("key", ["", "k" * 201, "line\nbreak"])
async def test_malformed_keys_are_refused(client: redis.asyncio.Redis, key: str) -> None:
    with pytest.raises(InvalidRequest):
        await Idempotency(client, Keys()).begin("org_1", key, "fp")
