"""The pages' security, in-process (no browser): CSRF, the session cookie's flags, no inline
script or style on any page, the CSP header, sign-in links used once and within their time,
session rotation at sign-in and sign-out ending the session on the server. Mail goes through a
real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from email.message import EmailMessage
from html.parser import HTMLParser

import httpx
import pytest
import redis
from fastapi import APIRouter
from starlette.routing import BaseRoute

from core.redis.keys import Keys
from core.settings import Settings
from tests.support.logs import json_lines, log_to_stream, restored_logging
from tests.support.web import Mailbox, mailbox
from tests.support.web_inprocess import InProcess, csrf_token, in_process
from web.app import _area_routers as area_routers
from web.pages import CONTENT_SECURITY_POLICY
from web.routing import WebRoute

pytestmark = pytest.mark.anyio

LINK = re.compile(r"http://ruche/login/link/[A-Za-z0-9_-]+")


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
    settings = Settings(redis_url=redis_url, smtp_url=f"smtp://127.0.0.1:{smtp[1]}")
    async with in_process(settings) as running:
        yield running


async def _join(
    site: InProcess, client: httpx.AsyncClient, name: str = "Amina", email: str = ""
) -> httpx.Response:
    fields = {"display_name": name, "languages": "en", "email": email}
    return await site.submit(client, "/join", "/join", fields)


async def _signed_in_with_code(site: InProcess) -> tuple[httpx.AsyncClient, str]:
    """A new person who joined without e-mail: their client and recovery code."""
    client = site.client()
    joined = await _join(site, client)
    assert joined.status_code == 303 and joined.headers["location"] == "/welcome"
    welcome = await client.get("/welcome")
    code = re.search(r'id="recovery-code">([^<]+)<', welcome.text)
    assert code is not None
    return client, code.group(1).strip()


async def _mail_to(site: InProcess, box: Mailbox, to: str) -> EmailMessage:
    await site.web.mailer.drain()
    return box.wait_for(to, timeout=5)


def _link_in(message: EmailMessage) -> str:
    body = message.get_content()
    found = LINK.search(body)
    assert found is not None, body
    return found.group(0).removeprefix("http://ruche")


def _count_volunteers(client: redis.Redis) -> int:
    return sum(1 for key in client.scan_iter("ruche:vol:*") if str(key).count(":") == 2)


# -- CSRF ------------------------------------------------------------------------------------


async def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(
    site: InProcess, redis_client: redis.Redis
) -> None:
    client = site.client()
    await client.get("/join")  # the CSRF cookie a visitor has
    volunteers_before = _count_volunteers(redis_client)
    fields = {"display_name": "Mallory", "languages": "en"}
    for sent in (fields, {**fields, "csrf_token": "0" * 64}):
        refused = await client.post("/join", data=sent)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "This is not allowed." in refused.text
    assert _count_volunteers(redis_client) == volunteers_before

    # Signed in: sign-out without the token leaves the session working.
    person, _ = await _signed_in_with_code(site)
    assert (await person.post("/logout", data={})).status_code == 403
    assert (await person.get("/charter")).status_code == 200
    # Another visitor's token is not this one's.
    other_token = csrf_token((await client.get("/login")).text)
    assert (await person.post("/logout", data={"csrf_token": other_token})).status_code == 403
    assert (await person.get("/charter")).status_code == 200


# -- the session cookie ----------------------------------------------------------------------


def _set_cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no Set-Cookie {name} in {response.headers.get_list('set-cookie')}")


async def test_the_session_cookie_is_httponly_and_samesite_lax(site: InProcess) -> None:
    client = site.client()
    joined = await _join(site, client)
    cookie = _set_cookie(joined, "ruche_session").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http: a Secure cookie would never come back


async def test_on_https_the_cookie_is_host_prefixed_and_secure(
    redis_client: redis.Redis, redis_url: str
) -> None:
    settings = Settings(redis_url=redis_url, public_url="https://example.org")
    async with in_process(settings) as https_site:
        client = https_site.client("https://example.org")
        joined = await _join(https_site, client)
        assert joined.status_code == 303
        cookie = _set_cookie(joined, "__Host-ruche_session")
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(flags)
        assert not any(flag.startswith("domain=") for flag in flags)  # __Host- forbids it
        assert client.cookies.get("__Host-ruche_csrf")  # the CSRF nonce's cookie is named alike


# -- no inline script or style, a CSP on every page ------------------------------------------


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style> element")
        if "style" in names:
            self.problems.append(f"style= on <{tag}>")
        self.problems += [f"{n}= on <{tag}>" for n in names if n.startswith("on")]
        if tag == "a" and any((v or "").lower().startswith("javascript:") for _, v in attrs):
            self.problems.append("javascript: link")


def _web_routes(routes: Sequence[BaseRoute]) -> Iterator[WebRoute]:
    for route in routes:
        if isinstance(route, WebRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if isinstance(included, APIRouter):
            yield from _web_routes(included.routes)


def _page_paths() -> list[str]:
    """Every page (GET) of every area of the site, with made-up ids in its path (a 404 page is
    a page too). Areas include their routers without a prefix."""
    paths = set()
    for router in area_routers():
        for route in _web_routes(router.routes):
            if "GET" in (route.methods or ()):
                paths.add(re.sub(r"\{[^}]+\}", "x1234567890abcdef", route.path))
    return sorted(paths)


async def test_no_page_has_inline_script_or_style_and_every_page_has_the_csp(
    site: InProcess,
) -> None:
    paths = _page_paths()
    assert {"/", "/join", "/login", "/charter", "/work", "/login/link/x1234567890abcdef"} <= set(
        paths
    )
    signed_out = site.client()
    signed_in, _ = await _signed_in_with_code(site)
    checked = 0
    for who, client in (("signed out", signed_out), ("signed in", signed_in)):
        for path in paths:
            for query in ("?lang=en", "?lang=fr"):
                response = await client.get(path + query, follow_redirects=True)
                if not response.headers.get("content-type", "").startswith("text/html"):
                    continue
                assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, (
                    path
                )
                finder = _InlineFinder()
                finder.feed(response.text)
                assert not finder.problems, f"{path} ({who}): {finder.problems}"
                checked += 1
    assert checked >= 2 * 2 * len(paths) - 8  # nearly every page answers HTML


# -- sign-in links ---------------------------------------------------------------------------


async def test_a_sign_in_link_signs_in_once_rotating_the_session(
    site: InProcess, smtp: tuple[Mailbox, int], redis_client: redis.Redis
) -> None:
    box = smtp[0]
    joining = site.client()
    assert (await _join(site, joining, "Bilal", "Bilal@Example.org ")).headers["location"] == (
        "/join/check-mail"
    )
    welcome_path = _link_in(await _mail_to(site, box, "bilal@example.org"))
    welcomed = await site.submit(joining, welcome_path, welcome_path, {})
    assert welcomed.headers["location"] == "/welcome"
    assert re.search(r'id="recovery-code">', (await joining.get("/welcome")).text)

    # Signed in with that session, the person asks for a link by e-mail (another device, say).
    phone = joining
    assert (await phone.get("/charter")).status_code == 200
    before = phone.cookies.get("ruche_session")
    assert before
    sent = await site.submit(
        phone,
        "/login?next=/charter",
        "/login/link",
        {"email": "BILAL@example.org", "next": "/charter"},
    )
    assert sent.status_code == 303 and "ruche_flash=link_sent" in " ".join(
        sent.headers.get_list("set-cookie")
    )
    path = _link_in(await _mail_to(site, box, "bilal@example.org"))

    # Opening the link (what a mail scanner does) uses nothing: twice is fine.
    for _ in range(2):
        opened = await phone.get(path)
        assert opened.status_code == 200 and "Sign in" in opened.text
    used = await phone.post(path, data={"csrf_token": csrf_token(opened.text)})
    assert used.status_code == 303 and used.headers["location"] == "/charter"
    after = phone.cookies.get("ruche_session")
    assert after and after != before  # a new session token at sign-in
    old = site.client()
    old.cookies.set("ruche_session", before)
    assert (await old.get("/charter")).status_code == 303  # the old session ended

    # Used: refused, by GET and POST, from any browser.
    again = site.client()
    assert (await again.get(path)).status_code == 410
    refused = await site.submit(again, "/login", path, {})
    assert refused.status_code == 410 and "no longer works" in refused.text
    assert (await again.get("/charter")).status_code == 303  # not signed in


async def test_an_expired_sign_in_link_is_refused(
    site: InProcess, smtp: tuple[Mailbox, int], redis_client: redis.Redis
) -> None:
    await _join(site, site.client(), "Chloé", "chloe@example.org")
    path = _link_in(await _mail_to(site, smtp[0], "chloe@example.org"))
    [key] = redis_client.keys(Keys().signin_link("*"))
    assert 0 < redis_client.ttl(key) <= 15 * 60  # it lives 15 minutes at most
    redis_client.pexpire(key, 1)  # its time runs out (Redis expires it, as it would at 15 min)
    while redis_client.exists(key):
        await asyncio.sleep(0.01)
    client = site.client()
    opened = await client.get(path)
    assert opened.status_code == 410 and "no longer works" in opened.text
    refused = await site.submit(client, "/login", path, {})
    assert refused.status_code == 410
    assert (await client.get("/charter")).status_code == 303


async def test_the_link_form_answers_alike_for_an_unknown_address_and_mails_nothing(
    site: InProcess, smtp: tuple[Mailbox, int]
) -> None:
    await _join(site, site.client(), "Dara", "dara@example.org")
    await site.web.mailer.drain()
    box = smtp[0]
    mails_before = len(box.messages)
    answers = []
    for address in ("dara@example.org", "nobody@example.org"):
        answer = await site.submit(site.client(), "/login", "/login/link", {"email": address})
        answers.append((answer.status_code, answer.headers["location"]))
    assert answers[0] == answers[1] == (303, "/login?next=/work")
    await site.web.mailer.drain()
    assert [str(m["To"]) for m in box.messages[mails_before:]] == ["dara@example.org"]


async def test_joining_again_with_a_known_address_makes_no_second_account(
    site: InProcess, smtp: tuple[Mailbox, int], redis_client: redis.Redis
) -> None:
    box = smtp[0]
    first = await _join(site, site.client(), "Emma", "emma@example.org")
    volunteers = _count_volunteers(redis_client)
    second = await _join(site, site.client(), "Emma again", "EMMA@example.org")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"] == "/join/check-mail"
    assert "ruche_session" not in " ".join(second.headers.get_list("set-cookie"))
    assert _count_volunteers(redis_client) == volunteers
    await site.web.mailer.drain()
    mails = [m for m in box.messages if "emma@example.org" in str(m["To"])]
    assert len(mails) == 2
    assert "Welcome" in str(mails[0]["Subject"]) and "sign-in link" in str(mails[1]["Subject"])
    # The second mail signs in the first account.
    client = site.client()
    path = _link_in(mails[1])
    assert (await site.submit(client, path, path, {})).headers["location"] == "/work"
    assert "Welcome, Emma</h1>" in (await client.get("/welcome")).text  # the first account


async def test_sign_out_ends_the_session_on_the_server(site: InProcess) -> None:
    person, _ = await _signed_in_with_code(site)
    token = person.cookies.get("ruche_session")
    assert token
    out = await site.submit(person, "/logout", "/logout", {})
    assert out.status_code == 303
    replay = site.client()
    replay.cookies.set("ruche_session", token)  # the cookie kept by someone
    assert (await replay.get("/charter")).status_code == 303


# -- without a mail server -------------------------------------------------------------------


async def test_in_production_without_smtp_email_sign_in_is_off(
    redis_client: redis.Redis, redis_url: str
) -> None:
    settings = Settings(redis_url=redis_url, env="production", public_url="https://example.org")
    async with in_process(settings) as site:
        client = site.client("https://example.org")
        page = await client.get("/login")
        assert 'id="email"' not in page.text and "Send me a sign-in link" not in page.text
        assert 'id="email"' not in (await client.get("/join")).text
        refused = await client.post(
            "/login/link", data={"email": "a@example.org", "csrf_token": csrf_token(page.text)}
        )
        assert refused.status_code == 403
        assert "Signing in by e-mail is off on this site" in refused.text


async def test_in_development_without_smtp_the_mail_is_written_to_the_log(
    redis_client: redis.Redis, redis_url: str
) -> None:
    with restored_logging():
        stream = log_to_stream()
        async with in_process(Settings(redis_url=redis_url)) as site:
            answer = await _join(site, site.client(), "Farah", "farah@example.org")
            assert answer.headers["location"] == "/join/check-mail"
            await site.web.mailer.drain()
        [mail] = [line for line in json_lines(stream) if line["event"] == "mail.not_sent"]
    assert mail["to"] == "farah@example.org"
    assert "Welcome" in mail["subject"]
    path = LINK.search(mail["body"])
    assert path is not None  # the developer follows the link from the log
    async with in_process(Settings(redis_url=redis_url)) as site:
        client = site.client()
        link = path.group(0).removeprefix("http://ruche")
        assert (await site.submit(client, link, link, {})).headers["location"] == "/welcome"
