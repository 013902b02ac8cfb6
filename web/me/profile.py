"""``/me/profile`` "My profile": the signed-in person changes their display name, languages and
skills, as ``PATCH /v1/me`` does (the same rules: ``core.volunteers.profile``, through the join
page's own form, :class:`web.account.forms.ProfileForm`).

The store forgets its cached copy of the profile on this write, so the person's next request
(their next ``/work`` claim too) sees the new languages and skills at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from web.account.forms import ProfileForm, language_choices
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)


def _profile_page(page: Visit, form: ProfileForm, status_code: int = 200) -> Response:
    return render(
        page,
        "me/profile.html",
        status_code=status_code,
        form=form,
        language_choices=language_choices(form.languages, page.language.code),
    )


@router.get("/me/profile")
async def my_profile(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    return _profile_page(page, ProfileForm.of(person.display_name, person.languages, person.skills))


@router.post("/me/profile")
async def save_profile(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    form = ProfileForm.read(await page.check_form())
    profile = form.checked()
    if profile is None:
        return _profile_page(page, form, status_code=422)
    await page.state.accounts.update_volunteer(
        person.id,
        display_name=profile.display_name,
        languages=profile.languages,
        skills=profile.skills,
    )
    return redirect(page, "/me/profile", flash="profile_saved")
