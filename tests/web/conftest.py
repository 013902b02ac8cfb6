"""The pages in a real Chromium (Debian's, driven by Playwright): a whole Ruche per pytest
worker (``site``), a browser per test module (``browser``), a fresh context per test
(``context``, ``page``).

The browser is ``RUCHE_BROWSER``, else Debian's ``/usr/bin/chromium`` (Playwright's own browser
download does not work on the machines CI runs on), else Playwright's own Chromium, which
``make test`` installs on a machine with neither. These tests never skip: a page untested in a
browser is a page untested.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN as API_ADMIN_TOKEN
from tests.support.api.client import app_client
from tests.support.own_redis import own_redis_server
from tests.support.ruche_up import ruche_env, ruche_up, wait_until_ready
from tests.support.web import ADMIN_TOKEN, Site, browser_executable, mailbox


def _launch_options() -> dict[str, Any]:
    executable = browser_executable()
    if os.environ.get("RUCHE_BROWSER") and not Path(executable).exists():
        pytest.fail(f"RUCHE_BROWSER={executable}: no such file")
    return {
        # None: Playwright's own Chromium (`python -m playwright install chromium`).
        "executable_path": executable if Path(executable).exists() else None,
        # Quiet on a machine without internet: no background fetches, no first-run pages.
        "args": [
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-gpu",
        ],
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module, stopped after it.

    Playwright's synchronous API runs an asyncio event loop of its own on the test's thread for
    as long as it is started: any asyncio test run meanwhile in the same worker would fail
    ("asyncio.run() cannot be called from a running event loop"). pytest-playwright keeps it
    started for the whole session; here it lives only while one module's tests run (a module of
    browser tests holds nothing else), so the tests run in any order and in any worker.
    """
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(**_launch_options())
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """A fresh browser context (no cookies, no cache) whose ``page.goto("/x")`` goes to the site."""
    fresh = browser.new_context(base_url=base_url)
    try:
        yield fresh
    finally:
        fresh.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``ruche up`` on a Redis of its own (other tests flush theirs) with a real SMTP server."""
    folder = tmp_path_factory.mktemp("web-site")
    server = own_redis_server(tmp_path_factory)
    try:
        with mailbox() as (box, smtp_port):
            env = ruche_env(
                folder,
                RUCHE_REDIS_URL=server.url,
                RUCHE_ADMIN_TOKEN=ADMIN_TOKEN,
                RUCHE_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
                RUCHE_WEBHOOK_ALLOW_PRIVATE="1",
            )
            with ruche_up(folder, env, name="site") as up:
                # A bound, not a measure: a machine busy with other suites starts it slowly.
                wait_until_ready(up, timeout=120)
                site = Site(up.base_url, box, up.stdout, redis_url=server.url)
                try:
                    yield site
                finally:
                    site.http.close()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def base_url(site: Site) -> str:
    return site.base_url


# -- in process: the app through httpx, no browser ---------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def web(redis_client: object, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app (pages and API) in this process, on the test's flushed Redis; a module
    that needs other settings defines its own ``web``."""
    settings = Settings(redis_url=redis_url, admin_token=API_ADMIN_TOKEN)
    async with app_client(settings) as client:
        yield client
