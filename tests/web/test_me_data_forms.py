"""``/me/data`` in process (no browser), against a real Redis: sign-in needed, the download is
the API's export as a file, deleting the account needs the box ticked and a CSRF token, ends
the session and the key at once, answers a page in the visitor's language, and once the jobs
ran nothing in Redis holds the person's id or name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
import redis

from core.board.runner import Board
from core.privacy import run_due_jobs
from tests.support.key_scan import holding
from tests.support.web_inprocess import csrf_token

pytestmark = pytest.mark.anyio

NAME = "Ophélie Oubliable"
FAR_FUTURE_MS = 4_000_000_000_000


@pytest.fixture
def board(redis_url: str) -> Iterator[Board]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield Board(client)
    finally:
        client.close()


async def signed_in(web: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    made = await web.post("/v1/volunteers", json={"display_name": NAME, "languages": ["fr"]})
    body = made.json()
    login = await web.get("/login")
    signed = await web.post(
        "/login/code",
        data={"csrf_token": csrf_token(login.text), "code": body["token"], "next": "/me"},
    )
    assert signed.status_code == 303
    return str(body["id"]), {"Authorization": f"Bearer {body['token']}"}


async def test_the_data_pages_need_someone_signed_in(web: httpx.AsyncClient) -> None:
    for path in ("/me/data", "/me/data/export", "/me/data/delete"):
        response = await web.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"
    refused = await web.post("/me/data/delete", data={"confirm": "yes"})
    assert refused.status_code in (303, 403)


async def test_download_my_data_is_the_api_export_as_a_file(web: httpx.AsyncClient) -> None:
    volunteer_id, headers = await signed_in(web)
    me = await web.get("/me")
    assert 'href="/me/data"' in me.text
    page = await web.get("/me/data")
    assert page.status_code == 200 and 'href="/me/data/export"' in page.text
    download = await web.get("/me/data/export")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"] == 'attachment; filename="ruche-my-data.json"'
    assert download.headers["cache-control"] == "no-store"
    mine = json.loads(download.content)
    api = (await web.get("/v1/me/export", headers=headers)).json()
    for exported in (mine, api):
        exported.pop("exported_at_ms")
    assert mine == api
    assert mine["volunteer_id"] == volunteer_id and mine["profile"]["display_name"] == NAME
    assert len(mine["sessions"]) == 1  # this very session


async def test_deleting_my_account_needs_the_box_ticked_then_erases_everything(
    web: httpx.AsyncClient, board: Board
) -> None:
    volunteer_id, headers = await signed_in(web)
    page = await web.get("/me/data/delete?lang=fr")
    assert page.status_code == 200 and NAME in page.text
    assert "Supprimer mon compte définitivement" in page.text
    csrf = csrf_token(page.text)
    # No box ticked: nothing happens, the page says why (in French).
    unticked = await web.post("/me/data/delete", data={"csrf_token": csrf})
    assert unticked.status_code == 422
    assert 'id="confirm-error"' in unticked.text and 'aria-invalid="true"' in unticked.text
    assert "Cochez la case" in unticked.text
    # No CSRF token: refused.
    assert (await web.post("/me/data/delete", data={"confirm": "yes"})).status_code == 403
    assert (await web.get("/v1/me", headers=headers)).status_code == 200

    gone = await web.post("/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"})
    assert gone.status_code == 303 and gone.headers["location"] == "/me/data/deleted"
    # At once: signed out, the key refused, the pages ask to sign in.
    assert (await web.get("/v1/me", headers=headers)).status_code == 401
    assert (await web.get("/me")).status_code == 303
    told = await web.get("/me/data/deleted")
    assert told.status_code == 200
    assert "Votre compte est supprimé" in told.text  # the language chosen stays
    assert "sans votre identité" in told.text
    english = await web.get("/me/data/deleted?lang=en")
    assert "Your account is deleted" in english.text and "without your identity" in english.text
    # Asking again (a second tab) erases nobody else: the form needs a signed-in person.
    again = await web.post("/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"})
    assert again.status_code in (303, 403)

    assert run_due_jobs(board, now_ms=FAR_FUTURE_MS, batch=50, max_batches=1000).pending == 0
    assert holding(board.client, [volunteer_id, NAME]) == []
    assert re.search(r"<h1>[^<]*supprimé", told.text)
