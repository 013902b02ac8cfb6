"""core.ratelimit: limits shared through Redis, their refusals, and their cost on a full Redis.

Two ``RateLimits`` on one Redis stand for two API processes (the end-to-end proof with real
processes is tests/e2e/test_limits.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio

from core.ratelimit import RateLimits, Refusal, parse_rate
from core.redis.keys import Keys
from core.redis.mux import MuxRedis

RATES = {"claims": parse_rate("3/minute"), "bulk_tasks": parse_rate("10/hour")}


def with_limits(redis_url: str, body: Callable[[RateLimits, RateLimits], Awaitable[None]]) -> None:
    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        mux = MuxRedis(redis_url)
        try:
            one = RateLimits(client, RATES, key_prefix=Keys().rate_limits, mux=mux)
            other = RateLimits(client, RATES, key_prefix=Keys().rate_limits)
            await body(one, other)
        finally:
            await mux.aclose()
            await client.aclose()

    asyncio.run(run())


def test_hits_are_counted_once_for_every_process(redis_url: str, redis_client: redis.Redis) -> None:
    async def body(one: RateLimits, other: RateLimits) -> None:
        assert await one.check("claims", "vol_a") is None
        assert await other.check("claims", "vol_a") is None
        assert await one.check("claims", "vol_a") is None
        refusal = await other.check("claims", "vol_a")
        assert isinstance(refusal, Refusal)
        assert (refusal.limit, refusal.amount, refusal.window_s, refusal.remaining) == (
            "claims",
            3,
            60,
            0,
        )
        assert 1 <= refusal.retry_after_s <= 60
        assert refusal.headers() == {
            "Retry-After": str(refusal.retry_after_s),
            "RateLimit-Policy": '"claims";q=3;w=60',
            "RateLimit": f'"claims";r=0;t={refusal.retry_after_s}',
        }
        assert await one.check("claims", "vol_a") is not None
        assert await one.check("claims", "vol_b") is None  # its own count

    with_limits(redis_url, body)
    assert redis_client.keys(Keys().rate_limits + ":*")  # in Redis, under Ruche's prefix


def test_a_cost_of_several_is_counted_whole_or_not_at_all(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def body(one: RateLimits, other: RateLimits) -> None:
        assert await one.check("bulk_tasks", "org_a", cost=7) is None
        refusal = await other.check("bulk_tasks", "org_a", cost=4)
        assert refusal is not None and refusal.remaining == 3
        assert await other.check("bulk_tasks", "org_a", cost=3) is None
        # A rate of its own for one call (an organisation's, set by the operator).
        assert await one.check("bulk_tasks", "org_b", cost=50, rate=parse_rate("50/hour")) is None

    with_limits(redis_url, body)


def test_a_full_redis_lets_requests_through_uncounted(
    redis_url: str, redis_client: redis.Redis
) -> None:
    used = int(redis_client.info("memory")["used_memory"])
    redis_client.config_set("maxmemory-policy", "noeviction")
    redis_client.config_set("maxmemory", used)

    async def body(one: RateLimits, other: RateLimits) -> None:
        for _ in range(5):
            assert await one.check("claims", "vol_full") is None
            assert await other.check("claims", "vol_full") is None

    try:
        with_limits(redis_url, body)
    finally:
        redis_client.config_set("maxmemory", 0)
    assert not redis_client.keys(Keys().rate_limits + ":*")


def test_peeking_counts_nothing_and_sees_what_every_process_counted(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def body(one: RateLimits, other: RateLimits) -> None:
        for _ in range(10):  # looking is free
            assert await one.peek("claims", "vol_p") is None
        for _ in range(3):
            assert await other.check("claims", "vol_p") is None
        seen = await one.peek("claims", "vol_p")  # counted by the other process
        assert isinstance(seen, Refusal)
        assert (seen.limit, seen.amount, seen.window_s) == ("claims", 3, 60)
        assert 1 <= seen.retry_after_s <= 60
        refused = await other.check("claims", "vol_p")  # remembered in that process now
        assert refused is not None
        assert await other.peek("claims", "vol_p") is not None
        assert await one.peek("claims", "vol_q") is None  # its own count

    with_limits(redis_url, body)
