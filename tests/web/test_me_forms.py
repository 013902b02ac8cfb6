"""The "My work" forms and pages in-process (no browser): the weekly goal's checks, sign-in
needed, the certificate issued once per set of figures, and the public check page's 404."""

from __future__ import annotations

import re

import httpx
import pytest

from core.volunteers.certificates import new_certificate_id
from tests.support.api.client import ADMIN

pytestmark = pytest.mark.anyio

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def signed_in(web: httpx.AsyncClient) -> tuple[str, str]:
    """A volunteer made through the API, signed in on the pages with their key."""
    made = await web.post("/v1/volunteers", json={"display_name": "Ines", "languages": ["fr"]})
    body = made.json()
    login = await web.get("/login?lang=en")
    signed = await web.post(
        "/login/code", data={"csrf_token": csrf_of(login), "code": body["token"], "next": "/me"}
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/me"
    return str(body["id"]), str(body["token"])


async def test_my_work_needs_someone_signed_in(web: httpx.AsyncClient) -> None:
    for path in ("/me", "/me/certificate"):
        response = await web.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


async def test_the_weekly_goal_is_checked_and_saved(web: httpx.AsyncClient) -> None:
    volunteer_id, token = await signed_in(web)
    page = await web.get("/me")
    assert page.status_code == 200
    assert volunteer_id in page.text  # the person's id, for the API
    for wrong in ("0", "10081", "an hour", "-5", "1.5", ""):
        refused = await web.post(
            "/me/goal", data={"csrf_token": csrf_of(page), "weekly_goal": wrong}
        )
        assert refused.status_code == 422, wrong
        assert 'id="weekly_goal-error"' in refused.text and 'aria-invalid="true"' in refused.text
    no_token = await web.post("/me/goal", data={"weekly_goal": "90"})
    assert no_token.status_code == 403

    saved = await web.post("/me/goal", data={"csrf_token": csrf_of(page), "weekly_goal": "90"})
    assert saved.status_code == 303 and saved.headers["location"] == "/me"
    me = await web.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["weekly_goal_minutes"] == 90
    shown = await web.get("/me")
    assert re.search(r'<progress id="goal-progress" max="90" value="0">', shown.text)


async def test_one_certificate_per_set_of_figures_and_its_public_page(
    web: httpx.AsyncClient,
) -> None:
    await signed_in(web)
    first = await web.get("/me/certificate")
    assert first.status_code == 200
    [certificate_id] = set(re.findall(r"crt_[0-9a-f]{32}", first.text))
    again = await web.get("/me/certificate")
    assert re.findall(r"crt_[0-9a-f]{32}", again.text)[0] == certificate_id
    assert f"http://ruche/certificates/{certificate_id}" in first.text  # the full address

    web.cookies.clear()  # anyone, signed in or not
    public = await web.get(f"/certificates/{certificate_id}?lang=en")
    assert public.status_code == 200
    assert "This certificate is genuine" in public.text and "Ines" in public.text

    for unknown in (new_certificate_id(), "crt_1", "x" * 200):
        missing = await web.get(f"/certificates/{unknown}")
        assert missing.status_code == 404
        assert "<h1>There is nothing here.</h1>" in missing.text

    revoked = await web.delete(f"/v1/certificates/{certificate_id}", headers=ADMIN)
    assert revoked.status_code == 200
    public = await web.get(f"/certificates/{certificate_id}?lang=fr")
    assert "Ce certificat a été révoqué" in public.text


async def test_another_persons_certificate_is_never_on_my_pages(web: httpx.AsyncClient) -> None:
    await signed_in(web)
    theirs = re.findall(r"crt_[0-9a-f]{32}", (await web.get("/me/certificate")).text)[0]
    web.cookies.clear()
    await signed_in(web)
    mine = (await web.get("/me/certificate")).text
    assert theirs not in mine and theirs not in (await web.get("/me")).text
