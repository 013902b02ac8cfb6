"""The rate limits as the API applies them: the process's :class:`~core.ratelimit.RateLimits`
and the caller's address, for routes (and the web pages to come) to check a limit in one line::

    await limits_of(request).enforce("signup", address_of(request))

Which limit counts what is listed in ``core.ratelimit.LIMIT_NAMES`` and docs/limits.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from starlette.requests import Request

from api.client_address import Network, client_address
from core.ratelimit import RateLimits

__all__ = ["address_of", "limits_of"]


def limits_of(request: Request) -> RateLimits:
    """The process's rate limiter (set by the lifespan in ``api.main``)."""
    return cast(RateLimits, request.app.state.limits)


def address_of(request: Request) -> str:
    """The client's address, through the trusted proxies only (``api.client_address``)."""
    proxies = cast(Sequence[Network], request.app.state.trusted_proxies)
    return client_address(request.scope, proxies)
