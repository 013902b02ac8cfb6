"""Requests a rate limit refused and will refuse again, answered before routing.

An address past its ``signup`` limit that keeps signing up is refused from this process's memory
(``RateLimits.remembered``: no Redis call), but only once its request has been routed, its body
read and validated and the route's dependencies solved, which costs several times the refusal
itself: under a flood of sign-ups, that work takes turns on the event loop with the volunteers'
claims. :class:`RememberedRefusals` answers such a request first, with the same 429 (body,
``Retry-After`` and ``RateLimit`` headers) the route would have answered, and counts it under
the route in the metrics.

Only limits whose identity is known from the request line and the peer alone are answered here
(:data:`BY_ADDRESS`); the others need a token looked up, and their route refuses them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from api.client_address import Network, client_address
from api.errors import error_response
from core.ratelimit import RateLimits

__all__ = ["BY_ADDRESS", "RememberedRefusals"]

#: (method, path) -> the limit that counts that request per client address.
BY_ADDRESS: Final[Mapping[tuple[str, str], str]] = {("POST", "/v1/volunteers"): "signup"}


class RememberedRefusals:
    """ASGI middleware: a request of :data:`BY_ADDRESS` from an address the process remembers
    as refused is answered 429 at once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = BY_ADDRESS.get((scope["method"], scope["path"]))
            state = scope["app"].state
            limits: RateLimits | None = getattr(state, "limits", None)
            if limit is not None and limits is not None:
                proxies: Sequence[Network] = state.trusted_proxies
                refusal = limits.remembered(limit, client_address(scope, proxies))
                if refusal is not None:
                    refused = refusal.error()
                    # For the metrics (api.metrics): counted under the route it was sent to.
                    scope["route"] = _RouteTemplate(scope["path"])
                    response = error_response(
                        refused.status,
                        refused.code,
                        refused.message,
                        details=refused.details,
                        headers=refused.headers(),
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


@dataclass(frozen=True, slots=True)
class _RouteTemplate:
    """What the metrics read of a matched route (its template), for a request never routed:
    the paths of :data:`BY_ADDRESS` hold no parameter, so each is its own template."""

    path: str
