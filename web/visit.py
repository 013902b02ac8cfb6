"""One request to a page, as the page sees it: who (the session, the volunteer's profile), in
which language, and the CSRF token its forms carry. Built by :func:`visit` at the start of
every page handler.

CSRF: every form carries a token that is an HMAC (the server's key, ``web.secret``) of the
session's token when someone is signed in, else of a random nonce kept in a cookie of its own.
A POST whose token does not match is refused (:class:`CsrfRefused`, 403) before anything else
happens. SameSite=Lax cookies already keep other sites' forms from carrying the session; the
token also covers old browsers and same-site attackers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from fastapi import Request
from starlette.datastructures import FormData

from core.accounts.store import VolunteerProfile
from core.errors import CsrfRefused, NotFound
from core.settings import Settings
from web.i18n import LANGUAGE_COOKIE, Language, choose_language, language
from web.sessions import Session

if TYPE_CHECKING:
    from web.app import WebState

__all__ = [
    "CSRF_FIELD",
    "CsrfRefused",
    "SignInNeeded",
    "Visit",
    "cookie_names",
    "visit",
]

CSRF_FIELD = "csrf_token"
#: A form's fields at most (a data-entry task has a few dozen): a bound on what is parsed.
MAX_FORM_FIELDS = 300


class SignInNeeded(Exception):
    """Raised by a page that needs someone signed in: the page route sends them to /login."""


@dataclass(frozen=True, slots=True)
class CookieNames:
    session: str
    csrf: str
    secure: bool


def cookie_names(settings: Settings, request: Request) -> CookieNames:
    """``__Host-`` names and ``Secure`` on https (the public URL's scheme, or the request's)."""
    scheme = urlsplit(settings.public_url).scheme if settings.public_url else request.url.scheme
    if scheme == "https":
        return CookieNames("__Host-ruche_session", "__Host-ruche_csrf", True)
    return CookieNames("ruche_session", "ruche_csrf", False)


@dataclass(slots=True)
class Visit:
    request: Request
    state: WebState
    cookies: CookieNames
    language: Language
    session: Session | None
    profile: VolunteerProfile | None
    csrf_nonce: str
    csrf_token: str
    #: Cookies the response must set (name -> value; "" deletes).
    set_cookies: dict[str, str] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return self.profile is not None

    @property
    def person(self) -> VolunteerProfile:
        """The signed-in volunteer; :class:`SignInNeeded` for anyone else."""
        if self.profile is None:
            raise SignInNeeded()
        return self.profile

    async def check_form(self) -> FormData:
        """The request's form, after its CSRF token is checked (:class:`CsrfRefused`)."""
        form = await self.request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
        sent = form.get(CSRF_FIELD)
        if not isinstance(sent, str) or not await self.state.secret.verify(
            "csrf", self._csrf_subject(), sent
        ):
            raise CsrfRefused()
        return form

    async def check_header(self, name: str = "x-csrf-token") -> None:
        """The CSRF token a script sent in the header ``name`` (a JSON call, no form), checked
        as :meth:`check_form` checks a form's (:class:`CsrfRefused`)."""
        sent = self.request.headers.get(name, "")
        if not sent or not await self.state.secret.verify("csrf", self._csrf_subject(), sent):
            raise CsrfRefused()

    def _csrf_subject(self) -> str:
        return f"s:{self.session.token}" if self.session else f"a:{self.csrf_nonce}"

    async def begin_session(self, volunteer_id: str) -> None:
        """Signs ``volunteer_id`` in: a new session token (the old one ends), a new CSRF token."""
        replacing = self.session.token if self.session else None
        self.session = await self.state.sessions.start(volunteer_id, replacing=replacing)
        self.profile = await self.state.accounts.volunteer(volunteer_id)
        self.set_cookies[self.cookies.session] = self.session.token
        self.csrf_token = await self.state.secret.sign("csrf", self._csrf_subject())

    async def end_session(self, everywhere: bool = False) -> None:
        if self.session is not None:
            if everywhere:
                await self.state.sessions.end_all(self.session.volunteer_id)
            else:
                await self.state.sessions.end(self.session.token)
        self.session, self.profile = None, None
        self.set_cookies[self.cookies.session] = ""
        self.csrf_token = await self.state.secret.sign("csrf", self._csrf_subject())


async def visit(request: Request) -> Visit:
    state = cast("WebState", request.app.state.web)
    settings = cast(Settings, request.app.state.settings)
    names = cookie_names(settings, request)
    set_cookies: dict[str, str] = {}

    query_lang = request.query_params.get("lang")
    lang = choose_language(
        query_lang, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    if query_lang == lang and request.cookies.get(LANGUAGE_COOKIE) != lang:
        set_cookies[LANGUAGE_COOKIE] = lang

    session: Session | None = None
    profile: VolunteerProfile | None = None
    token = request.cookies.get(names.session)
    if token:
        session = await state.sessions.find(token)
        if session is None:
            set_cookies[names.session] = ""
        else:
            try:
                profile = await state.accounts.volunteer(session.volunteer_id)
            except NotFound:  # the person erased their account: the session means nothing
                session = None
                set_cookies[names.session] = ""

    nonce = request.cookies.get(names.csrf, "")
    if not (16 <= len(nonce) <= 64 and nonce.isascii()):
        nonce = secrets.token_urlsafe(24)
        set_cookies[names.csrf] = nonce
    subject = f"s:{session.token}" if session else f"a:{nonce}"
    csrf_token = await state.secret.sign("csrf", subject)
    return Visit(
        request=request,
        state=state,
        cookies=names,
        language=language(lang),
        session=session,
        profile=profile,
        csrf_nonce=nonce,
        csrf_token=csrf_token,
        set_cookies=set_cookies,
    )
