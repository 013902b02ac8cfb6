"""/docs (Swagger UI) and /redoc work without the internet: every script, style sheet and icon
they load is served by the app itself, from the assets the fastapi-offline package ships.

Read from the pages as a browser would: every ``src`` and ``href`` of their HTML (and the
OpenAPI address Swagger UI is configured with) is a path on the same origin, and each answers
200 with the content type a browser needs to run or apply it. The pages are not run in a browser
here; the asset checks say the scripts are the real bundles (each defines what its page calls).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from api.main import DOCS_ASSETS

pytestmark = pytest.mark.anyio

PAGES = ["/docs", "/redoc"]
#: The content type each kind of asset needs (a script served as text/plain would not run
#: under `X-Content-Type-Options: nosniff`; a style sheet not served as text/css is ignored).
CONTENT_TYPES = {
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
}
#: What each page's own inline script or markup calls, so what its script asset must define.
DEFINES = {"/docs": b"SwaggerUIBundle", "/redoc": b"Redoc"}


class _References(HTMLParser):
    """Every address an HTML page makes the browser load or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "spec-url", "data", "action", "srcset"} and value:
                self.urls.append(value)


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    # Swagger UI is told where the document is in its inline configuration: `url: '…'`.
    configured = re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)
    return parser.urls + configured


async def page(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


@pytest.mark.parametrize("path", PAGES)
async def test_the_page_loads_nothing_from_another_host(
    client: httpx.AsyncClient, path: str
) -> None:
    html = await page(client, path)
    urls = references(html)
    assert urls, "the page references no asset at all"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{path} loads {url!r}"
    # Nor anywhere else in the page (an inline script or style could fetch an absolute URL).
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), html


@pytest.mark.parametrize("path", PAGES)
async def test_every_asset_the_page_loads_is_served_with_its_content_type(
    client: httpx.AsyncClient, path: str
) -> None:
    scripts = 0
    for url in references(await page(client, path)):
        response = await client.get(url)
        assert response.status_code == 200, f"{path} loads {url}: {response.status_code}"
        assert response.content, url
        if url == "/openapi.json":
            assert response.json()["info"]["title"] == "Ruche"
            continue
        assert url.startswith(f"{DOCS_ASSETS}/"), url
        suffix = url[url.rindex(".") :]
        media_type = response.headers["content-type"].split(";")[0].strip()
        assert media_type in CONTENT_TYPES[suffix], f"{url} served as {media_type}"
        if suffix == ".js":
            scripts += 1
            assert DEFINES[path] in response.content, f"{url} is not {path}'s bundle"
    assert scripts == 1, f"{path} should load exactly its one bundle"


async def test_both_pages_and_the_document_share_the_same_assets_folder(
    client: httpx.AsyncClient,
) -> None:
    assets = {
        url
        for path in PAGES
        for url in references(await page(client, path))
        if url.startswith(DOCS_ASSETS)
    }
    assert {url.rsplit("/", 1)[1] for url in assets} == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "redoc.standalone.js",
        "favicon.png",
    }


@pytest.mark.parametrize(
    "url",
    [
        f"{DOCS_ASSETS}/no-such-file.js",
        f"{DOCS_ASSETS}/",
        f"{DOCS_ASSETS}/..%2F..%2Fmain.py",
        f"{DOCS_ASSETS}/%2e%2e/%2e%2e/main.py",
    ],
)
async def test_an_unknown_asset_is_a_404_in_the_api_error_shape(
    client: httpx.AsyncClient, url: str
) -> None:
    response = await client.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_an_asset_cannot_be_written_to(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{DOCS_ASSETS}/swagger-ui.css", content=b"body{}")
    assert response.status_code == 405
    assert "error" in response.json()
    # And it is unchanged.
    assert (await client.get(f"{DOCS_ASSETS}/swagger-ui.css")).content != b"body{}"
