""" "My profile" in process (no browser): the profile is saved with the API's rules (``PATCH
/v1/me``), bad input is said beside its field (422), a form without its CSRF token is refused,
and new languages change at once which projects ``/work`` offers."""

from __future__ import annotations

import httpx
import pytest

from tests.support.api.client import ADMIN
from tests.web.test_work_requests import csrf, moderation

pytestmark = pytest.mark.anyio


async def joined(web: httpx.AsyncClient, languages: list[str]) -> None:
    """A volunteer who joined on the pages and accepted the charter (signed in)."""
    token = await csrf(web, "/join")
    made = await web.post(
        "/join",
        data={"csrf_token": token, "display_name": "Ines", "languages": languages},
    )
    assert made.status_code == 303, made.text
    token = await csrf(web, "/charter")
    accepted = await web.post("/charter", data={"csrf_token": token, "next": "/work"})
    assert accepted.status_code == 303


async def test_my_profile_needs_someone_signed_in(web: httpx.AsyncClient) -> None:
    response = await web.get("/me/profile")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/me/profile"


async def test_the_profile_is_shown_saved_and_seen_at_once(web: httpx.AsyncClient) -> None:
    await joined(web, ["fr"])
    page = await web.get("/me/profile?lang=en")
    assert page.status_code == 200
    assert 'value="Ines"' in page.text
    assert 'name="languages" value="fr" checked' in page.text
    assert 'href="/me/profile"' in (await web.get("/me")).text

    saved = await web.post(
        "/me/profile",
        data={
            "csrf_token": await csrf(web, "/me/profile"),
            "display_name": "  Inès K.  ",
            "languages": ["fr", "es"],
            "other_languages": "wo, pt-BR; FR",
            "skills": "medical vocabulary, legal texts",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/me/profile"
    shown = await web.get("/me/profile?lang=en")
    assert "Your profile is saved." in shown.text
    assert 'value="Inès K."' in shown.text
    assert 'name="languages" value="es" checked' in shown.text
    assert 'name="other_languages" value="wo, pt-BR"' in shown.text  # "FR": the same as "fr"
    assert 'value="medical vocabulary, legal texts"' in shown.text
    assert "Inès K." in (await web.get("/me")).text


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({"display_name": "", "languages": ["fr"]}, "display_name"),
        ({"display_name": "x" * 81, "languages": ["fr"]}, "display_name"),
        ({"display_name": "Ines"}, "languages"),
        ({"display_name": "Ines", "other_languages": "not a language!"}, "languages"),
        ({"display_name": "Ines", "languages": ["fr"], "skills": "s" * 65}, "skills"),
        (
            {"display_name": "Ines", "languages": ["fr"], "skills": ",".join(map(str, range(21)))},
            "skills",
        ),
    ],
)
async def test_bad_input_is_said_beside_its_field_and_nothing_changes(
    web: httpx.AsyncClient, fields: dict[str, object], wrong: str
) -> None:
    await joined(web, ["fr"])
    token = await csrf(web, "/me/profile")
    refused = await web.post("/me/profile?lang=en", data={"csrf_token": token, **fields})
    assert refused.status_code == 422
    assert f'id="{wrong}-error"' in refused.text
    assert 'id="form-errors"' in refused.text
    # What they typed stays in the form to correct.
    if "other_languages" in fields:
        assert 'value="not a language!"' in refused.text
    again = await web.get("/me/profile")
    assert 'value="Ines"' in again.text and 'value="fr" checked' in again.text


async def test_a_form_without_its_csrf_token_is_refused(web: httpx.AsyncClient) -> None:
    await joined(web, ["fr"])
    refused = await web.post("/me/profile", data={"display_name": "Mallory", "languages": ["en"]})
    assert refused.status_code == 403
    wrong = await web.post(
        "/me/profile",
        data={"csrf_token": "forged", "display_name": "Mallory", "languages": ["en"]},
    )
    assert wrong.status_code == 403
    assert 'value="Ines"' in (await web.get("/me/profile")).text


async def test_new_languages_change_what_work_offers_at_once(web: httpx.AsyncClient) -> None:
    made = await web.post(
        "/v1/orgs", json={"name": "Aid", "contact_email": "a@example.org"}, headers=ADMIN
    )
    org = {"Authorization": f"Bearer {made.json()['api_key']}"}
    project = await web.post(
        "/v1/projects",
        json={
            "name": "Posts in Swahili",
            "task_type": "moderation",
            "instructions": "Do it.",
            "languages": ["sw"],
        },
        headers=org,
    )
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    sent = await web.post(
        f"/v1/projects/{project_id}/tasks",
        json={"tasks": [{"payload": moderation(0)}]},
        headers=org,
    )
    assert sent.json()["accepted"] == 1

    await joined(web, ["fr"])
    before = await web.get("/work")
    assert before.status_code == 200
    assert f'id="offer-{project_id}"' not in before.text
    saved = await web.post(
        "/me/profile",
        data={
            "csrf_token": await csrf(web, "/me/profile"),
            "display_name": "Ines",
            "languages": ["fr"],
            "other_languages": "sw",
        },
    )
    assert saved.status_code == 303
    after = await web.get("/work")
    assert f'id="offer-{project_id}"' in after.text
    assert "Posts in Swahili" in after.text
