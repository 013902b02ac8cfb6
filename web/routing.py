"""The route class of every page: what goes wrong becomes a page, not the API's JSON.

- someone not signed in, on a page that needs it: 303 to ``/login?next=<the page>``;
- a rate limit's refusal (``web.limits``): 429 with its ``Retry-After`` and ``RateLimit``
  headers, and a page saying how long to wait;
- a ``RucheError`` (not found, forbidden, conflict…): its status, with a page that says so in the
  visitor's language (another person's assignment is the same 404 as a random id);
- Redis unreachable: 503 with ``Retry-After``.

Pages are left out of the OpenAPI document, which describes the API for programs.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import Request, Response
from fastapi.routing import APIRoute

from core.errors import RucheError
from core.ratelimit import RateLimited
from core.redis.reply_errors import storage_unavailable
from web.i18n import N_, language
from web.pages import redirect, render
from web.visit import SignInNeeded, visit

__all__ = ["ERROR_TITLES", "WebRoute", "error_page", "wants_a_page"]

log = structlog.get_logger(__name__)

ERROR_TITLES: dict[int, str] = {
    400: N_("This request is not valid."),
    403: N_("This is not allowed."),
    404: N_("There is nothing here."),
    405: N_("This page cannot do that."),
    409: N_("This has changed in the meantime."),
    413: N_("This is too large."),
    422: N_("Some of what was sent is not valid."),
    429: N_("Too many tries; please wait a moment."),
    503: N_("The service is unavailable for a moment; please try again."),
}


def wants_a_page(request: Request) -> bool:
    """A browser asking for HTML, outside the API's paths (programs get the API's JSON)."""
    path = request.url.path
    if path.startswith(("/v1/", "/static/", "/metrics", "/healthz", "/readyz", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "")


async def error_page(request: Request, status_code: int, message: str | None = None) -> Response:
    page = await visit(request)
    title = ERROR_TITLES.get(status_code, N_("Something went wrong on our side."))
    response = render(page, "error.html", status_code=status_code, title=title, message=message)
    if status_code in (429, 503):
        response.headers["Retry-After"] = "1"
    return response


class WebRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["include_in_schema"] = False
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                target = request.url.path
                return redirect(await visit(request), f"/login?next={quote(target, safe='/')}")
            except RateLimited as limited:
                return await _rate_limited(request, limited)
            except RucheError as refused:
                status_code = refused.status if 400 <= refused.status < 600 else 500
                return await error_page(request, status_code)
            except Exception as error:
                if not storage_unavailable(error):  # a cluster failing over is one too
                    raise
                log.warning("redis.unavailable", error_type=type(error).__name__)
                return await _unavailable(request)

        return page


async def _rate_limited(request: Request, limited: RateLimited) -> Response:
    page = await visit(request)
    wait = limited.refusal.retry_after_s
    message = page.language.ngettext(
        "Please wait %(num)s second, then try again.",
        "Please wait %(num)s seconds, then try again.",
        wait,
    )
    response = render(page, "error.html", status_code=429, title=ERROR_TITLES[429], message=message)
    response.headers.update(limited.headers())
    return response


async def _unavailable(request: Request) -> Response:
    # The visit itself needs Redis (the session): a page without it, in the default language.
    text = language("en").gettext(ERROR_TITLES[503])
    return Response(
        f"<!doctype html><title>{text}</title><p>{text}</p>",
        status_code=503,
        media_type="text/html",
        headers={"Retry-After": "1", "Cache-Control": "no-store"},
    )
