"""The app in-process, as the API tests talk to it: an HTTP client over ASGI with the app's
lifespan running, the operator's token, and the people of a scenario made through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from fastapi import FastAPI

from api.main import create_app
from core.settings import Settings

__all__ = ["ADMIN", "ADMIN_TOKEN", "Actors", "AppClient", "app_client"]

AppClient = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings)
    # httpx's ASGI transport does not run the lifespan; the app's own context manager does.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ruche") as c,
    ):
        yield c


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
