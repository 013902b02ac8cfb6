"""The pages without a browser (the app in-process behind httpx): what a browser and a program
each get at an address that is no page, the headers every page carries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from core.settings import Settings
from tests.support.api.client import app_client
from web.pages import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.anyio
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def web(redis_client: object, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(Settings(redis_url=redis_url)) as client:
        yield client


async def test_a_browser_gets_a_page_at_an_unknown_address_and_a_program_the_api_json(
    web: httpx.AsyncClient,
) -> None:
    page = await web.get("/no/such/page", headers={**HTML, "Accept-Language": "fr"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Il n’y a rien ici." in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY

    program = await web.get("/no/such/page")
    assert program.status_code == 404
    assert program.json()["error"]["code"] == "not_found"
    api = await web.get("/v1/no/such/route", headers=HTML)
    assert api.json()["error"]["code"] == "not_found"


async def test_every_page_carries_the_security_headers_and_no_inline_script(
    web: httpx.AsyncClient,
) -> None:
    for path in ("/", "/join", "/login", "/?lang=fr"):
        page = await web.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert "<script>" not in page.text and "style=" not in page.text, path


async def test_a_form_without_its_csrf_token_is_refused_and_makes_no_account(
    web: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    await web.get("/join", headers=HTML)  # the CSRF cookie
    refused = await web.post("/join", data={"display_name": "Eve", "languages": "en"}, headers=HTML)
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    forged = await web.post(
        "/join",
        data={"display_name": "Eve", "languages": "en", "csrf_token": "0" * 64},
        headers=HTML,
    )
    assert forged.status_code == 403
    assert not list(redis_client.scan_iter("*vol:*"))
