"""The pages without a browser (the app in-process behind httpx): what a browser and a program
each get at an address that is no page, the headers every page carries."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis

from core.redis.keys import Keys
from core.settings import Settings
from tests.support.api.client import app_client
from web import i18n
from web.pages import CONTENT_SECURITY_POLICY
from web.work.workbench import workbench

pytestmark = pytest.mark.anyio
HTML = {"Accept": "text/html,application/xhtml+xml"}


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


ARABIC_PO = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"
"Language: ar\\n"

msgid "Skip to the content"
msgstr "انتقل إلى المحتوى"
"""


async def test_a_right_to_left_ui_language_flips_the_page(
    web: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI ships in English and French; a UI language is a folder of catalogues, so this
    test gives the server a one-string Arabic catalogue of its own (never shipped) and checks
    the mechanism: ``lang`` and ``dir`` on <html> come from the UI language."""
    folder = tmp_path / "ar" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "ruche.po").write_text(ARABIC_PO, encoding="utf-8")
    assert i18n.catalogued_languages(tmp_path) == ("en", "ar")
    assert i18n.catalogued_languages(Path(i18n.__file__).parent / "locale") == ("en", "fr")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "UI_LANGUAGES", i18n.catalogued_languages(tmp_path))
    i18n._translations.cache_clear()
    try:
        arabic = await web.get("/?lang=ar")
        assert '<html lang="ar" dir="rtl">' in arabic.text
        assert "انتقل إلى المحتوى" in arabic.text
        assert 'lang="en" hreflang="en">English</a>' in arabic.text  # the way back
        english = await web.get("/?lang=en")
        assert '<html lang="en" dir="ltr">' in english.text
        assert 'hreflang="ar">العربية</a>' in english.text
    finally:
        monkeypatch.undo()
        i18n._translations.cache_clear()
    french = await web.get("/?lang=fr")  # the real catalogues again
    assert '<html lang="fr" dir="ltr">' in french.text


def test_the_stylesheet_flips_with_the_page() -> None:
    """Logical properties only (margin-inline-start, not margin-left): dir="rtl" on <html> then
    mirrors the whole layout, with no stylesheet of its own."""
    css = Path(i18n.__file__).parent / "static" / "css"
    physical = re.compile(r"\b(left|right)\b|(margin|padding|border)-(left|right)")
    found = [
        f"{sheet.name}: {line.strip()}"
        for sheet in sorted(css.glob("*.css"))
        for line in sheet.read_text(encoding="utf-8").splitlines()
        if physical.search(line) and not line.strip().startswith(("/*", "*"))
    ]
    assert not found, found


def test_right_to_left_task_text_gets_its_direction() -> None:
    wb = asyncio.run(
        workbench(
            None,
            Keys(),
            "prj_0123456789abcdefghjk",
            {"source_text": "اغسل يديك", "source_lang": "ar", "target_lang": "fr"},
            use_memory=False,
        )
    )
    assert (wb.source_dir, wb.target_dir) == ("rtl", "ltr")
