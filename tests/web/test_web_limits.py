"""The pages anyone can use are rate-limited per client address with the API's own limits
(web.limits), against a real Redis: ``/join`` by ``signup`` (one window with
``POST /v1/volunteers``), wrong codes on ``/login`` by ``unauthenticated`` (an address past
it is refused before its code is tried, even a right one), "Send me a sign-in link" by
``signin_links``. Each refusal is a page in the visitor's language, 429, with
``Retry-After`` and the IETF ``RateLimit`` headers; another address is not affected."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis

from core.settings import Settings
from tests.support.web import Mailbox, mailbox
from tests.support.web_inprocess import InProcess, csrf_token, in_process

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with mailbox() as running:
        yield running


@pytest.fixture
async def site(
    redis_client: redis.Redis, redis_url: str, smtp: tuple[Mailbox, int]
) -> AsyncIterator[InProcess]:
    settings = Settings(
        redis_url=redis_url,
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        rate_limit_signup="2/minute",
        rate_limit_unauthenticated="3/minute",
        rate_limit_signin_links="2/minute",
    )
    async with in_process(settings) as running:
        yield running


def from_address(site: InProcess, address: str) -> httpx.AsyncClient:
    """A visitor coming from ``address`` (the ASGI scope's client)."""
    transport = httpx.ASGITransport(app=site.app, client=(address, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://ruche")


def assert_refused_page(response: httpx.Response, limit: str, amount: int, words: str) -> None:
    assert response.status_code == 429, response.text[:300]
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= 60
    assert response.headers["ratelimit-policy"] == f'"{limit}";q={amount};w=60'
    assert response.headers["ratelimit"] == f'"{limit}";r=0;t={retry}'
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text
    assert re.search(rf"\b{retry} second", response.text) or re.search(
        rf"\b{retry} seconde", response.text
    )


async def join(client: httpx.AsyncClient, name: str, lang: str = "en") -> httpx.Response:
    page = await client.get(f"/join?lang={lang}")
    fields = {"display_name": name, "languages": "en", "csrf_token": csrf_token(page.text)}
    return await client.post("/join", data=fields)


async def test_joining_is_limited_per_address_in_one_window_with_the_api(
    site: InProcess, redis_client: redis.Redis
) -> None:
    async with from_address(site, "192.0.2.7") as visitor, from_address(site, "192.0.2.8") as other:
        # The API's sign-up and the page's count in the same window.
        made = await visitor.post(
            "/v1/volunteers", json={"display_name": "Api", "languages": ["en"]}
        )
        assert made.status_code == 201, made.text
        # A form that is not valid makes no account and is not counted.
        page = await visitor.get("/join")
        invalid = await visitor.post("/join", data={"csrf_token": csrf_token(page.text)})
        assert invalid.status_code == 422
        assert (await join(visitor, "Amina")).status_code == 303
        await visitor.post(
            "/logout", data={"csrf_token": csrf_token((await visitor.get("/logout")).text)}
        )
        accounts = len(list(redis_client.scan_iter("ruche:vol:*")))
        refused = await join(visitor, "Bilal", lang="fr")
        assert_refused_page(refused, "signup", 2, "Trop d’essais")
        assert len(list(redis_client.scan_iter("ruche:vol:*"))) == accounts  # nothing made
        # The API's sign-up from that address is refused too; another address joins.
        again = await visitor.post(
            "/v1/volunteers", json={"display_name": "X", "languages": ["en"]}
        )
        assert again.status_code == 429
        assert (await join(other, "Chloe")).status_code == 303


async def test_wrong_codes_are_limited_per_address_and_then_even_a_right_code_waits(
    site: InProcess,
) -> None:
    async with (
        from_address(site, "192.0.2.20") as guesser,
        from_address(site, "192.0.2.21") as owner,
    ):
        made = await owner.post(
            "/v1/volunteers", json={"display_name": "Dina", "languages": ["en"]}
        )
        token = made.json()["token"]
        login = await guesser.get("/login?lang=en")
        csrf = csrf_token(login.text)
        for n in range(3):
            wrong = await guesser.post("/login/code", data={"csrf_token": csrf, "code": f"X{n}"})
            assert wrong.status_code == 400, n
            assert "does not open any account" in wrong.text
        refused = await guesser.post("/login/code", data={"csrf_token": csrf, "code": "nope"})
        assert_refused_page(refused, "unauthenticated", 3, "Too many tries")
        # Past the limit, a right code is refused before it is tried: guessing stops here.
        right = await guesser.post("/login/code", data={"csrf_token": csrf, "code": token})
        assert right.status_code == 429
        assert "ruche_session" not in right.headers.get("set-cookie", "")
        # The API's refused tokens count in the same window for that address.
        api = await guesser.get("/v1/me", headers={"Authorization": "Bearer rk_vol_wrong"})
        assert api.status_code == 429
        # Another address signs in with the right code; its successes are not counted.
        page = await owner.get("/login")
        for _ in range(4):
            fine = await owner.post(
                "/login/code", data={"csrf_token": csrf_token(page.text), "code": token}
            )
            assert fine.status_code == 303
            page = await owner.get("/login")


async def test_sign_in_links_are_limited_per_address(site: InProcess) -> None:
    async with from_address(site, "192.0.2.30") as asker, from_address(site, "192.0.2.31") as other:
        page = await asker.get("/login?lang=fr")
        csrf = csrf_token(page.text)
        for n in range(2):
            sent = await asker.post(
                "/login/link", data={"csrf_token": csrf, "email": f"p{n}@example.org"}
            )
            assert sent.status_code == 303, sent.text[:300]
        refused = await asker.post(
            "/login/link", data={"csrf_token": csrf, "email": "p9@example.org"}
        )
        assert_refused_page(refused, "signin_links", 2, "Trop d’essais")
        page = await other.get("/login")
        fine = await other.post(
            "/login/link", data={"csrf_token": csrf_token(page.text), "email": "q@example.org"}
        )
        assert fine.status_code == 303
