"""Rendering a page: the template with what every page needs, the security headers, the
cookies the visit asked for, and gzip when the browser takes it.

Every page is sent with a Content-Security-Policy that allows nothing from another origin and
no inline script or style (``script-src 'self'``: only ``/static/…/ruche.js``); templates never
use ``style=`` attributes or ``on…=`` handlers.

A short message for the next page ("Saved", "Signed out") travels in a cookie holding one of
the ids of :data:`FLASHES` (never text of the request's choosing), shown once, and announced
to screen readers by ruche.js through the page's live region.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Response
from fastapi.responses import HTMLResponse, RedirectResponse

from web import i18n
from web.i18n import LANGUAGE_COOKIE, N_, language_name
from web.visit import Visit

__all__ = ["CONTENT_SECURITY_POLICY", "FLASHES", "environment", "redirect", "render"]

WEB_DIR = Path(__file__).parent
FLASH_COOKIE = "ruche_flash"
#: Messages a page may leave for the next one, by id.
FLASHES: dict[str, str] = {
    "saved": N_("Saved. Here is your next task."),
    "saved_last": N_("Saved. There is no other task for you right now."),
    "skipped": N_("Skipped."),
    "signed_in": N_("You are signed in."),
    "signed_out": N_("You are signed out."),
    "signed_out_everywhere": N_("You are signed out on every device."),
    "charter_accepted": N_("Thank you: you accepted the charter."),
    "goal_saved": N_("Your weekly goal is saved."),
    "profile_saved": N_("Your profile is saved."),
    "lease_expired": N_("The time for this task ran out; it went back to the queue."),
    "link_sent": N_("If this address belongs to an account, a sign-in link is on its way."),
    "decided": N_("Decision saved."),
    # The NGO console (web/ngo).
    "invitation_accepted": N_("Welcome: you are now on the organisation's staff."),
    "invitation_sent": N_("The invitation is on its way."),
    "invitation_revoked": N_("The invitation no longer works."),
    "role_changed": N_("The role is saved."),
    "member_removed": N_("They are no longer on the staff."),
    "project_created": N_("The project is created."),
    "project_saved": N_("The project is saved."),
    "project_paused": N_("The project is paused: volunteers get none of its tasks."),
    "project_resumed": N_("The project is running again."),
    "project_closed": N_("The project is closed."),
    "unclear_sent": N_("Thank you: the organisation will see that the instructions are unclear."),
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
#: Below this many bytes gzip saves less than its header costs.
_GZIP_FROM_BYTES = 1024


def _template_folders() -> list[str]:
    # web/templates (the layout, shared pages), then each area's web/<area>/templates.
    areas = sorted(str(folder) for folder in WEB_DIR.glob("*/templates") if folder.is_dir())
    return [str(WEB_DIR / "templates"), *areas]


environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_template_folders()),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)


def _common(visit: Visit) -> dict[str, Any]:
    request = visit.request
    other_languages = [
        {
            "code": code,
            "name": language_name(code, code),
            # The page's other parameters stay (an invitation code in /join?invite=…).
            "url": request.url.path
            + "?"
            + urlencode(
                [
                    *((k, v) for k, v in request.query_params.multi_items() if k != "lang"),
                    ("lang", code),
                ]
            ),
        }
        for code in i18n.UI_LANGUAGES
        if code != visit.language.code
    ]
    flash_id = request.cookies.get(FLASH_COOKIE, "")
    if flash_id:
        visit.set_cookies[FLASH_COOKIE] = ""
    return {
        **visit.language.template_callables(),
        "visit": visit,
        "person": visit.profile,
        "lang": visit.language.code,
        "dir": visit.language.direction,
        "csrf_field": "csrf_token",
        "csrf_token": visit.csrf_token,
        "assets": visit.state.assets,
        "other_languages": other_languages,
        "flash": FLASHES.get(flash_id),
        "path": request.url.path,
    }


def _finish(visit: Visit, response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    for name, value in visit.set_cookies.items():
        if name == LANGUAGE_COOKIE:
            response.set_cookie(name, value, max_age=365 * 24 * 3600, samesite="lax")
        elif value:
            response.set_cookie(
                name,
                value,
                max_age=30 * 24 * 3600 if name == visit.cookies.session else None,
                httponly=True,
                secure=visit.cookies.secure,
                samesite="lax",
                path="/",
            )
        else:
            response.delete_cookie(name, path="/", secure=visit.cookies.secure, httponly=True)
    return response


def render(visit: Visit, template: str, status_code: int = 200, **context: Any) -> Response:
    html = environment.get_template(template).render(**_common(visit), **context)
    body = html.encode()
    headers = {"Vary": "Accept-Encoding, Cookie, Accept-Language"}
    if len(body) >= _GZIP_FROM_BYTES and "gzip" in visit.request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    return _finish(visit, response)


def redirect(visit: Visit, url: str, flash: str | None = None) -> Response:
    """303 See Other to ``url`` (a path of this site), leaving the message ``flash``."""
    if not url.startswith("/") or url.startswith("//"):
        url = "/"
    if flash is not None:
        assert flash in FLASHES, flash  # noqa: S101 - a programming error, not input
        visit.set_cookies[FLASH_COOKIE] = flash
    return _finish(visit, RedirectResponse(url, status_code=303))
