"""``/`` (what this is), ``/join``, ``/login``, ``/logout`` and ``/charter``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from core.accounts.recovery import RecoveryCodes
from core.accounts.tokens import parse_token
from core.settings import Settings
from web.account.forms import COMMON_LANGUAGES, JoinForm
from web.i18n import N_, language_name
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["router", "safe_next"]

router = APIRouter(route_class=WebRoute)


def safe_next(target: str | None, default: str = "/work") -> str:
    """A page of this site to go to after signing in (never another site's address)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target[:500]


def _settings(page: Visit) -> Settings:
    return page.state.settings


def _recovery(page: Visit) -> RecoveryCodes:
    return RecoveryCodes(page.state.sessions.client, page.state.keys)


@router.get("/")
async def home(request: Request) -> Response:
    page = await visit(request)
    return render(page, "account/home.html")


def _language_choices(page: Visit, chosen: list[str]) -> list[dict[str, object]]:
    return [
        {"code": code, "name": language_name(code, page.language.code), "checked": code in chosen}
        for code in COMMON_LANGUAGES
    ]


def _join_page(page: Visit, form: JoinForm, status_code: int = 200) -> Response:
    return render(
        page,
        "account/join.html",
        status_code=status_code,
        form=form,
        language_choices=_language_choices(page, form.languages),
        signup_open=_settings(page).signup == "open",
    )


@router.get("/join")
async def join_form(request: Request) -> Response:
    page = await visit(request)
    if page.signed_in:
        return redirect(page, "/work")
    return _join_page(page, JoinForm())


@router.post("/join")
async def join(request: Request) -> Response:
    page = await visit(request)
    form = JoinForm.read(await page.check_form())
    if _settings(page).signup != "open":
        return _join_page(page, form, status_code=403)
    new = form.checked()
    if new is None:
        return _join_page(page, form, status_code=422)
    volunteer_id, _api_token = await page.state.accounts.create_volunteer(
        new.display_name, new.languages, new.skills
    )
    code = await _recovery(page).issue(volunteer_id)
    await page.begin_session(volunteer_id)
    assert page.session is not None  # noqa: S101 - begin_session made it
    await page.state.sessions.put_once(page.session.token, "recovery_code", code)
    return redirect(page, "/welcome")


@router.get("/welcome")
async def welcome(request: Request) -> Response:
    """The recovery code, shown once after joining (a reload shows it no more)."""
    page = await visit(request)
    person = page.person
    assert page.session is not None  # noqa: S101 - person implies a session
    code = await page.state.sessions.take_once(page.session.token, "recovery_code")
    return render(page, "account/welcome.html", code=code, name=person.display_name)


@router.get("/login")
async def login_form(request: Request) -> Response:
    page = await visit(request)
    return render(page, "account/login.html", next=safe_next(request.query_params.get("next")))


@router.post("/login/code")
async def login_with_code(request: Request) -> Response:
    page = await visit(request)
    form = await page.check_form()
    raw = form.get("code", "")
    code = raw.strip()[:300] if isinstance(raw, str) else ""
    target = safe_next(str(form.get("next", "") or ""))
    volunteer_id: str | None = None
    if parse_token(code) is not None:
        principal = await page.state.accounts.authenticate(code)
        if principal is not None and principal.kind == "vol":
            volunteer_id = principal.id
    else:
        volunteer_id = await _recovery(page).find(code)
    if volunteer_id is None:
        return render(
            page,
            "account/login.html",
            status_code=400,
            next=target,
            code_error=N_("This code does not open any account. Check it and try again."),
        )
    await page.begin_session(volunteer_id)
    return redirect(page, target, flash="signed_in")


@router.get("/logout")
async def logout_form(request: Request) -> Response:
    page = await visit(request)
    if not page.signed_in:
        return redirect(page, "/")
    return render(page, "account/logout.html")


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = await visit(request)
    form = await page.check_form()
    everywhere = form.get("everywhere") == "1"
    await page.end_session(everywhere=everywhere)
    return redirect(page, "/", flash="signed_out_everywhere" if everywhere else "signed_out")


@router.get("/charter")
async def charter(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    return render(
        page,
        "account/charter.html",
        accepted=person.charter_accepted_at_ms is not None,
        next=safe_next(request.query_params.get("next")),
    )


@router.post("/charter")
async def accept_charter(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    form = await page.check_form()
    await page.state.accounts.accept_charter(person.id)
    return redirect(page, safe_next(str(form.get("next", "") or "")), flash="charter_accepted")
