"""An HTTP client talking to the app in-process (httpx over ASGI), with its lifespan running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from core.settings import Settings

if TYPE_CHECKING:
    from tests.api.volunteer_support import Scene

AppClient = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings)
    # httpx's ASGI transport does not run the lifespan; the app's own context manager does.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ruche") as c,
    ):
        yield c


@pytest.fixture
def make_client() -> AppClient:
    return app_client


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(Settings(redis_url=redis_url)) as test_client:
        yield test_client


ADMIN_TOKEN = "rk_admin_" + "t" * 40
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Actors:
    """Creates the people of a scenario through the API itself."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def org(self, name: str = "Helping Hands") -> tuple[str, dict[str, str]]:
        """A new organisation: its id and the headers carrying its API key."""
        response = await self.client.post(
            "/v1/orgs", json={"name": name, "contact_email": "ops@example.org"}, headers=ADMIN
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["id"], {"Authorization": f"Bearer {body['api_key']}"}

    async def volunteer(
        self, languages: list[str] | None = None, *, charter: bool = True
    ) -> tuple[str, dict[str, str]]:
        """A new volunteer (charter accepted unless told otherwise): id and auth headers."""
        response = await self.client.post(
            "/v1/volunteers",
            json={"display_name": "Ada", "languages": languages or ["fr", "en"]},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        headers = {"Authorization": f"Bearer {body['token']}"}
        if charter:
            accepted = await self.client.post(
                "/v1/me/charter", json={"accept": True}, headers=headers
            )
            assert accepted.status_code == 200, accepted.text
        return body["id"], headers


@pytest.fixture
async def api(redis_client: object, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a flushed Redis, with an operator token configured."""
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, webhook_allow_private=True)
    async with app_client(settings) as test_client:
        yield test_client


@pytest.fixture
def actors(api: httpx.AsyncClient) -> Actors:
    return Actors(api)


@pytest.fixture
async def world(api: httpx.AsyncClient, actors: Actors, redis_url: str) -> AsyncIterator[Scene]:
    """An organisation with a scene of projects and volunteers (tests/api/volunteer_support.py)."""
    from tests.api.volunteer_support import scene  # the support module imports this one

    _, org = await actors.org()
    async with scene(api, redis_url, org) as made:
        yield made
