"""The pages in a real Chromium (Debian's, driven by Playwright): a whole Ruche per pytest
worker (``site``), a fresh browser context per test (pytest-playwright's ``page``), at a phone's
and a desktop's size.

The browser is ``RUCHE_BROWSER``, else Debian's ``/usr/bin/chromium`` (Playwright's own browser
download does not work on the machines CI runs on), else Playwright's own Chromium, which
``make test`` installs on a machine with neither. These tests never skip: a page untested in a
browser is a page untested.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.own_redis import own_redis_server
from tests.support.ruche_up import ruche_env, ruche_up, wait_until_ready
from tests.support.web import ADMIN_TOKEN, Site, browser_executable, mailbox


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
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
                wait_until_ready(up)
                site = Site(up.base_url, box, up.stdout)
                try:
                    yield site
                finally:
                    site.http.close()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def base_url(site: Site) -> str:
    """pytest-playwright's pages resolve ``page.goto("/join")`` against the site (and this
    replaces pytest-base-url's own fixture, which pytest 9 warns about)."""
    return site.base_url
