"""The pages in-process, without a browser: the app behind an httpx client (its lifespan
running), with the form helpers a person's browser would be (cookies, each form's CSRF token),
for fast checks of status codes, headers and cookies."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

import httpx
from fastapi import FastAPI

from api.main import create_app
from core.settings import Settings
from web.app import WebState

__all__ = ["InProcess", "csrf_token", "in_process"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no form with a CSRF token on this page"
    return found.group(1)


@dataclass
class InProcess:
    app: FastAPI

    @property
    def web(self) -> WebState:
        return cast(WebState, self.app.state.web)

    def client(self, base_url: str = "http://ruche") -> httpx.AsyncClient:
        """A new visitor: a cookie jar of its own (a browser context). An ``https://`` base
        gets ``Secure`` cookies back, as a browser would."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=base_url)

    async def submit(
        self, client: httpx.AsyncClient, page: str, action: str, fields: dict[str, str]
    ) -> httpx.Response:
        """Opens ``page`` and posts its form to ``action`` with ``fields`` and its CSRF token."""
        opened = await client.get(page)
        return await client.post(action, data={**fields, "csrf_token": csrf_token(opened.text)})


@asynccontextmanager
async def in_process(settings: Settings) -> AsyncIterator[InProcess]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield InProcess(app)
