"""The API's rate limits on the pages that anyone can use (``api.ratelimit``: the same counters,
shared by every API process, per client address through the trusted proxies only):

- ``/join`` counts against ``signup``, as ``POST /v1/volunteers`` does (one window for both:
  an address cannot double its sign-ups by using both);
- the code sign-in on ``/login`` counts each wrong code against ``unauthenticated``, as a
  refused token counts on the API; an address past it is refused *before* its code is tried,
  so guessing stops there (a right code from an address not past it is never counted);
- "Send me a sign-in link" counts against ``signin_links``.

A refusal raises :class:`core.ratelimit.RateLimited`: :class:`web.routing.WebRoute` answers a
page in the visitor's language, status 429, with ``Retry-After`` and the ``RateLimit`` headers.
"""

from __future__ import annotations

from starlette.requests import Request

from api.ratelimit import address_of, limits_of
from core.ratelimit import RateLimited

__all__ = ["count", "count_failure", "refuse_if_past"]


async def count(request: Request, limit: str) -> None:
    """One hit of the client's address; :class:`RateLimited` when refused."""
    await limits_of(request).enforce(limit, address_of(request))


async def refuse_if_past(request: Request, limit: str) -> None:
    """:class:`RateLimited` when the client's address has no hit left, counting nothing."""
    refusal = await limits_of(request).peek(limit, address_of(request))
    if refusal is not None:
        raise RateLimited(refusal)


async def count_failure(request: Request, limit: str) -> None:
    """A failed try of the client's address, counted; :class:`RateLimited` when it was one too
    many (the page then says to wait rather than "wrong code")."""
    await count(request, limit)
