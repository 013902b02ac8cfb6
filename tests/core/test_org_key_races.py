"""An organisation's keys under concurrent changes from threads with Redis clients of their own:
never more than ``MAX_LIVE_ORG_KEYS`` live keys, never none, and only listed keys work."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis
import redis.asyncio

from core.accounts.store import MAX_LIVE_ORG_KEYS, Accounts
from core.board.operations import text
from core.errors import LastApiKey, TooManyApiKeys
from core.redis.keys import Keys

T = TypeVar("T")


async def with_accounts(redis_url: str, use: Callable[[Accounts], Awaitable[T]]) -> T:
    connection = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        return await use(Accounts(connection, Keys(), None))
    finally:
        await connection.aclose()


def at_once(redis_url: str, calls: list[Callable[[Accounts], Awaitable[object]]]) -> list[str]:
    """Each call in a thread of its own (own event loop, own client), released together; what
    each ended with: "ok" or the refusal's code."""
    start = threading.Barrier(len(calls))
    outcomes = [""] * len(calls)

    def run(index: int) -> None:
        async def use(accounts: Accounts) -> None:
            await accounts.client.ping()  # connected before the start
            start.wait()
            try:
                await calls[index](accounts)
                outcomes[index] = "ok"
            except (TooManyApiKeys, LastApiKey) as refused:
                outcomes[index] = refused.code

        asyncio.run(with_accounts(redis_url, use))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def live_keys(redis_client: redis.Redis, org_id: str) -> dict[str, str]:
    """Live key id -> token hash, as the organisation's keys hash says."""
    raw = redis_client.hgetall(Keys().org_keys(org_id))
    records = {text(key_id): json.loads(value) for key_id, value in raw.items()}
    return {k: str(r["hash"]) for k, r in records.items() if not r.get("revoked")}


def stored_tokens(redis_client: redis.Redis, org_id: str) -> set[str]:
    """Hashes of the tokens that authenticate as the organisation."""
    prefix = Keys().token("")
    found = set()
    for key in redis_client.scan_iter(Keys().token("*")):
        record = json.loads(str(redis_client.get(key)))
        if record["id"] == org_id:
            found.add(str(key).removeprefix(prefix))
    return found


def new_org(redis_url: str, extra_keys: int = 0) -> str:
    async def create(accounts: Accounts) -> str:
        org_id, _ = await accounts.create_org("Helping Hands", "ops@example.org")
        for _ in range(extra_keys):
            await accounts.add_org_key(org_id)
        return org_id

    return asyncio.run(with_accounts(redis_url, create))


def adding(org_id: str) -> Callable[[Accounts], Awaitable[object]]:
    return lambda accounts: accounts.add_org_key(org_id)


def revoking(org_id: str, key_id: str) -> Callable[[Accounts], Awaitable[object]]:
    return lambda accounts: accounts.revoke_org_key(org_id, key_id)


def test_threads_adding_keys_at_once_never_make_more_than_the_cap(
    redis_client: redis.Redis, redis_url: str
) -> None:
    for _ in range(3):
        org_id = new_org(redis_url)  # one live key
        outcomes = at_once(redis_url, [adding(org_id) for _ in range(16)])

        assert outcomes.count("ok") == MAX_LIVE_ORG_KEYS - 1
        assert outcomes.count("too_many_keys") == 16 - (MAX_LIVE_ORG_KEYS - 1)
        live = live_keys(redis_client, org_id)
        assert len(live) == MAX_LIVE_ORG_KEYS
        # only the listed keys work: the refused ones never stored a token
        assert stored_tokens(redis_client, org_id) == set(live.values())


def test_threads_revoking_both_live_keys_at_once_leave_one(
    redis_client: redis.Redis, redis_url: str
) -> None:
    for _ in range(3):
        org_id = new_org(redis_url, extra_keys=1)
        key_ids = sorted(live_keys(redis_client, org_id))
        assert len(key_ids) == 2
        outcomes = at_once(redis_url, [revoking(org_id, key_id) for key_id in key_ids])

        assert sorted(outcomes) == ["last_key", "ok"]
        live = live_keys(redis_client, org_id)
        assert len(live) == 1
        assert stored_tokens(redis_client, org_id) == set(live.values())
