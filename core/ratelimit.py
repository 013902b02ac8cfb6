"""Rate limits shared by every API process: sliding windows in Redis, through ``limits``.

A limit is a name (``signup``, ``claims``…), an amount per window (``Settings.rate_limit_*``,
e.g. ``"60/minute"``, or an organisation's own for ``bulk_tasks``) and an identity (a client
address, a volunteer id, a token, an organisation id). :class:`RateLimits` counts hits in the
``limits`` library's *sliding window counter* (two counters per identity, weighted: it never lets
through more than the amount in any window, give or take the weighting's rounding), kept in Redis
under ``<prefix>limits:`` so that every API process shares the same counts.

Usage, from a route or from anything else that serves people (a web sign-in page)::

    refusal = await limits.check("signup", client_address)
    if refusal is not None:
        ...  # refusal.retry_after_s, refusal.headers(); or raise refusal.error()

    await limits.enforce("claims", volunteer_id)   # raises RateLimited (429) when refused

Cost: one Redis round trip per hit (the library's acquire script), several hits of one request
concurrently in one (:meth:`RateLimits.enforce_all`). A refusal reads the window once more for
its headers; one that leaves nothing in the window is then remembered in this process until the
window lets a hit through again, so a client that keeps knocking costs a dictionary lookup per
request, not a Redis call.

The refusal's headers follow draft-ietf-httpapi-ratelimit-headers:
``RateLimit-Policy: "claims";q=60;w=60`` (amount and window in seconds) and
``RateLimit: "claims";r=0;t=12`` (remaining, and seconds until a hit can succeed again),
with ``Retry-After`` the same ``t``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import redis.asyncio
import redis.exceptions
import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisClusterStorage, RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from core.errors import TooManyRequests
from core.redis.mux import MuxRedis
from core.redis.reply_errors import out_of_memory

__all__ = [
    "LIMIT_NAMES",
    "RateLimited",
    "RateLimits",
    "Refusal",
    "parse_rate",
]

log = structlog.get_logger(__name__)

#: Every limit the API applies, and whom it counts (the docs list them from here).
LIMIT_NAMES: Final[Mapping[str, str]] = {
    "signup": "volunteer sign-ups (POST /v1/volunteers and the page /join), per client address",
    "unauthenticated": "requests refused for want of a valid token (401) and wrong codes on the "
    "page /login, per client address",
    "signin_links": "sign-in links asked for on the page /login, per client address",
    "token": "every request made with one token, per token",
    "claims": "claims (POST /v1/assignments), per volunteer",
    "releases": "releases (POST /v1/assignments/{id}/release), per volunteer",
    "bulk_tasks": "tasks sent in bulk (POST /v1/projects/{id}/tasks), per organisation",
}
# Refusals remembered in-process at most (each a few hundred bytes); the oldest go first.
_REMEMBERED_REFUSALS = 50_000


def parse_rate(value: str) -> RateLimitItem:
    """``"60/minute"``, ``"10 per second"``, ``"1000/2 hours"``: the ``limits`` notation."""
    try:
        item = parse(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a rate: write it as an amount per period, e.g. '60/minute'"
        ) from None
    if item.amount < 1:
        raise ValueError(f"{value!r}: the amount must be at least 1")
    return item


class RateLimited(TooManyRequests):
    """A rate limit said no: 429 ``rate_limited`` with the limit's headers."""

    code = "rate_limited"

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(
            f"too many requests ({refusal.limit}: at most {refusal.amount} per "
            f"{_period(refusal.window_s)}); retry in {refusal.retry_after_s} s",
            [{"limit": refusal.limit, "quota": refusal.amount, "window_s": refusal.window_s}],
            retry_after_s=refusal.retry_after_s,
            policy=(refusal.limit, refusal.amount, refusal.window_s),
        )
        self.refusal = refusal

    def headers(self) -> dict[str, str]:
        return self.refusal.headers()


def _period(seconds: int) -> str:
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return f"{seconds} s"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A hit a limit refused: which limit, its policy, and when to try again."""

    limit: str
    amount: int
    window_s: int
    remaining: int
    retry_after_s: int  # at least 1

    def headers(self) -> dict[str, str]:
        """``Retry-After`` and the IETF ``RateLimit-Policy`` / ``RateLimit`` fields."""
        return {
            "Retry-After": str(self.retry_after_s),
            "RateLimit-Policy": f'"{self.limit}";q={self.amount};w={self.window_s}',
            "RateLimit": f'"{self.limit}";r={self.remaining};t={self.retry_after_s}',
        }

    def error(self) -> RateLimited:
        return RateLimited(self)


class _MuxScripts:
    """What redis-py's ``AsyncScript`` asks of its client, over a :class:`MuxRedis`."""

    def __init__(self, mux: MuxRedis) -> None:
        self.mux = mux

    async def _one(self, *command: str | int | float | bytes) -> Any:
        [reply] = await self.mux.execute([command])
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: str | int | float) -> Any:
        return await self._one("EVALSHA", sha, numkeys, *keys_and_args)

    async def script_load(self, script: str) -> str:
        return str(await self._one("SCRIPT", "LOAD", script))


_CLUSTER_TIMEOUT_S = 2.0  # as the API's own clients: fail fast, answer 503


class RateLimits:
    """The process's rate limiter: ``limits``' sliding window counter on the shared Redis.

    ``rates`` maps each limit name to its default rate; :meth:`check` takes another ``rate``
    for one call (an organisation's own). ``key_prefix`` is where the counters live
    (``Keys.rate_limits``).
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        rates: Mapping[str, RateLimitItem],
        *,
        key_prefix: str,
        mux: MuxRedis | None = None,
        cluster_uri: str | None = None,
        cluster_tls: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        storage: RedisStorage | RedisClusterStorage
        if cluster_uri is not None:
            # On a Redis Cluster (core.redis.clients.limits_cluster_uri): the library's own
            # cluster storage and client (its counters' keys carry a hash tag each).
            storage = RedisClusterStorage(
                cluster_uri,
                implementation="redispy",
                key_prefix=key_prefix,
                socket_timeout=_CLUSTER_TIMEOUT_S,
                socket_connect_timeout=_CLUSTER_TIMEOUT_S,
                require_full_coverage=False,  # a slot down fails its own counters only
                **({"ssl": True} if cluster_tls else {}),
            )
        else:
            # The process's own connection pool: no second set of connections to Redis. (The
            # library's options are typed as scalars; a pool is what its redis-py bridge expects.)
            pool: Any = client.connection_pool
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                key_prefix=key_prefix,
                connection_pool=pool,
            )
        if mux is not None:
            # The two scripts a hit and a refusal run go down the API's multiplexed connection
            # (core.redis.mux): a third of redis-py's CPU per call, and the hits of one request
            # share one write. redis-py's scripts ask their client for evalsha and script_load
            # only; every other call of the library (clear) stays on the pool.
            scripts = _MuxScripts(mux)
            bridge = cast(RedispyBridge, storage.bridge)
            for script in (bridge.lua_acquire_sliding_window, bridge.lua_sliding_window):
                script.registered_client = cast(Any, scripts)
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self.rates = dict(rates)
        self._clock = clock
        # (limit, identity) -> (monotonic time the refusal holds until, the refusal)
        self._refused: dict[tuple[str, str], tuple[float, Refusal]] = {}

    async def check(
        self, limit: str, identity: str, *, cost: int = 1, rate: RateLimitItem | None = None
    ) -> Refusal | None:
        """Count ``cost`` hits of ``identity`` against ``limit``: None when they fit (they are
        counted), else the refusal (nothing counted). ``cost`` above the amount is always
        refused (the caller should say so in its own words first)."""
        item = rate or self.rates[limit]
        remembered = self.remembered(limit, identity, rate=item)
        if remembered is not None:
            return remembered
        try:
            if await self._limiter.hit(item, limit, identity, cost=cost):
                return None
        except redis.exceptions.ResponseError as refused:
            if not out_of_memory(refused):
                raise
            # Redis is full (maxmemory, noeviction): nothing can be counted, and every write
            # the request would make is refused anyway (507); reads must still be served.
            log.warning("ratelimit.not_counted", limit=limit, reason="redis_out_of_memory")
            return None
        stats = await self._limiter.get_window_stats(item, limit, identity)
        # The window frees a hit at stats.reset_time (wall clock); a cost of several may need
        # more than one to free: a fraction of the window per missing hit, at the least.
        missing = max(0, cost - stats.remaining)
        wait = max(stats.reset_time - time.time(), missing * item.get_expiry() / item.amount)
        retry_after = max(1, math.ceil(wait))
        refusal = Refusal(limit, item.amount, item.get_expiry(), stats.remaining, retry_after)
        if stats.remaining <= 0:  # nothing fits until then, whatever the cost: no need to ask
            self._remember((limit, identity), refusal)
        return refusal

    def remembered(
        self, limit: str, identity: str, *, rate: RateLimitItem | None = None
    ) -> Refusal | None:
        """The refusal this process remembers for ``identity`` (a window with nothing left,
        seen by :meth:`check`), while it holds: no Redis call, nothing counted. None when there
        is none, or when it was for another amount (an organisation's rate changed since)."""
        remembered = self._refused.get((limit, identity))
        if remembered is None:
            return None
        until, refusal = remembered
        left = until - self._clock()
        if left > 0 and refusal.amount == (rate or self.rates[limit]).amount:
            return Refusal(limit, refusal.amount, refusal.window_s, 0, max(1, math.ceil(left)))
        del self._refused[(limit, identity)]
        return None

    async def peek(
        self, limit: str, identity: str, *, rate: RateLimitItem | None = None
    ) -> Refusal | None:
        """Whether one more hit of ``identity`` would be refused, without counting it: the
        refusal, or None. What a page checks before trying a code, so that an address past
        the limit cannot go on trying (only the failures are then counted, with
        :meth:`check`)."""
        item = rate or self.rates[limit]
        remembered = self.remembered(limit, identity, rate=item)
        if remembered is not None:
            return remembered
        if await self._limiter.test(item, limit, identity):
            return None
        stats = await self._limiter.get_window_stats(item, limit, identity)
        wait = max(stats.reset_time - time.time(), item.get_expiry() / item.amount)
        return Refusal(
            limit, item.amount, item.get_expiry(), stats.remaining, max(1, math.ceil(wait))
        )

    async def enforce(
        self, limit: str, identity: str, *, cost: int = 1, rate: RateLimitItem | None = None
    ) -> None:
        """:meth:`check`, raising :class:`RateLimited` (429) on a refusal."""
        refusal = await self.check(limit, identity, cost=cost, rate=rate)
        if refusal is not None:
            raise RateLimited(refusal)

    async def enforce_all(self, hits: Sequence[tuple[str, str]]) -> None:
        """Several hits of one cost each, at once (one round trip's time); the first refusal is
        raised. Every hit that fits is counted, whatever the others answer."""
        if len(hits) == 1:
            await self.enforce(*hits[0])
            return
        outcomes: list[Any] = await asyncio.gather(
            *(self.check(limit, identity) for limit, identity in hits)
        )
        for refusal in outcomes:
            if refusal is not None:
                raise RateLimited(refusal)

    async def reset(self, limit: str, identity: str, rate: RateLimitItem | None = None) -> None:
        """Forget ``identity``'s hits against ``limit`` (an operator lifting a block)."""
        self._refused.pop((limit, identity), None)
        await self._limiter.clear(rate or self.rates[limit], limit, identity)

    def _remember(self, key: tuple[str, str], refusal: Refusal) -> None:
        self._refused[key] = (self._clock() + refusal.retry_after_s, refusal)
        if len(self._refused) > _REMEMBERED_REFUSALS:
            now = self._clock()
            for stale in [k for k, (until, _) in self._refused.items() if until <= now]:
                del self._refused[stale]
            while len(self._refused) > _REMEMBERED_REFUSALS:
                del self._refused[next(iter(self._refused))]
