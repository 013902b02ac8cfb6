"""What the API process remembers of accounts (core.accounts.store with core.recent): volunteer
tokens (never revoked) and profiles (for a second, forgotten on this process's own writes);
organisation keys, which can be revoked, are read every time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio

from core.accounts.store import PROFILE_TTL_SECONDS, VOLUNTEER_TOKEN_TTL_SECONDS, Accounts
from core.accounts.tokens import token_hash
from core.recent import Recent
from core.redis.keys import Keys

T = TypeVar("T")


class Tick:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def run(
    redis_url: str, scenario: Callable[[Accounts, redis.asyncio.Redis, Tick], Awaitable[T]]
) -> T:
    async def main() -> T:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        tick = Tick()
        try:
            return await scenario(Accounts(client, Keys(), None, clock=tick), client, tick)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_a_volunteer_token_is_remembered_an_org_key_never(redis_url: str) -> None:
    async def scenario(accounts: Accounts, client: redis.asyncio.Redis, tick: Tick) -> None:
        volunteer_id, volunteer_token = await accounts.create_volunteer("Ada", ["fr"], [])
        org_id, _ = await accounts.create_org("Helping Hands", "ops@example.org")
        key_id, org_token = await accounts.add_org_key(org_id)
        volunteer = await accounts.authenticate(volunteer_token)
        assert volunteer is not None and volunteer.id == volunteer_id
        assert (await accounts.authenticate(org_token)) is not None

        # Gone from Redis: the volunteer token is still known here (for its TTL), the org key
        # revoked is refused at once.
        await client.delete(Keys().token(token_hash(volunteer_token)))
        await accounts.revoke_org_key(org_id, key_id)
        assert (await accounts.authenticate(volunteer_token)) is not None
        assert (await accounts.authenticate(org_token)) is None
        tick.now += VOLUNTEER_TOKEN_TTL_SECONDS
        assert (await accounts.authenticate(volunteer_token)) is None

    run(redis_url, scenario)


def test_a_profile_is_read_afresh_and_remembered_only_for_claims_with_its_stamp(
    redis_url: str,
) -> None:
    async def scenario(accounts: Accounts, client: redis.asyncio.Redis, tick: Tick) -> None:
        volunteer_id, _ = await accounts.create_volunteer("Ada", ["fr"], [])
        assert (await accounts.volunteer(volunteer_id)).charter_accepted_at_ms is None
        await accounts.accept_charter(volunteer_id)  # this process: seen at once
        assert (await accounts.volunteer(volunteer_id)).charter_accepted_at_ms is not None
        await accounts.update_volunteer(volunteer_id, languages=["fr", "en"])
        assert (await accounts.volunteer(volunteer_id)).languages == ["fr", "en"]

        remembered = await accounts.remembered_volunteer(volunteer_id)
        # Another process edits it: every route reading the profile sees it at once; what the
        # claim remembers is older, and its stamp says so (the reservation compares them).
        other = Accounts(client, Keys(), None, clock=tick)
        await other.update_volunteer(volunteer_id, display_name="Ada L.")
        assert (await accounts.remembered_volunteer(volunteer_id)).display_name == "Ada"
        fresh = await accounts.volunteer(volunteer_id)
        assert fresh.display_name == "Ada L." and fresh.rev > remembered.rev
        assert (await accounts.remembered_volunteer(volunteer_id)).rev == fresh.rev  # read anew
        tick.now += PROFILE_TTL_SECONDS
        assert (await accounts.remembered_volunteer(volunteer_id)).display_name == "Ada L."

    run(redis_url, scenario)


def test_recent_is_bounded_and_least_recently_used_goes_first() -> None:
    tick = Tick()
    recent: Recent[str, int] = Recent(ttl_seconds=10, max_entries=2, clock=tick)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1  # a is now the most recent
    recent.put("c", 3)
    assert (recent.get("a"), recent.get("b"), recent.get("c")) == (1, None, 3)
    tick.now += 10
    assert recent.get("a") is None
    recent.put("d", 4, read_at=tick.now - 10)  # read long ago: already stale
    assert recent.get("d") is None
