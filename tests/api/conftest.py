"""An HTTP client talking to the app in-process (httpx over ASGI), with its lifespan running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from core.settings import Settings

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
