"""Fixtures of the API tests: the app in-process behind an HTTP client, on a flushed Redis
(tests/support/api/client.py), and the people of a scenario."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN, Actors, AppClient, app_client
from tests.support.api.volunteers import Scene, scene


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_client() -> AppClient:
    return app_client


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(Settings(redis_url=redis_url)) as test_client:
        yield test_client


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
    """An organisation with a scene of projects and volunteers (tests/support/api/volunteers.py)."""
    _, org = await actors.org()
    async with scene(api, redis_url, org) as made:
        yield made
