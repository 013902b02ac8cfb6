"""The reviewer's pages in-process (no browser): who sees what, the same 404 for someone else's
review and a random id, a lease that ran out, corrections checked by the task type, CSRF.

Each scenario runs in an event loop on a thread of its own: the browser tests' Playwright keeps
a loop running in the worker's main thread, where no other can run. The app runs with a manual
board clock (``core.clock.ManualClock``) for the reviews, so a review
lease runs out when the test says so, without waiting. Review items are opened on the board
directly, as the API's review tests do; the browser tests (test_review_pages.py) let the real
workers open them.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import redis

from api.main import create_app
from core.board.runner import AsyncBoard
from core.clock import ManualClock
from core.review.reviewers import Reviews
from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN, Actors
from tests.support.api.volunteers import Headers, Scene, answer_all, scene

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Site:
    def __init__(self, client: httpx.AsyncClient, clock: ManualClock) -> None:
        self.client = client
        self.clock = clock


@asynccontextmanager
async def running(redis_url: str) -> AsyncIterator[tuple[Site, Scene]]:
    """The app in-process, its reviews on a manual clock, and an organisation's scene."""
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, review_lease_seconds=60)
    app = create_app(settings)
    clock = ManualClock(int(time.time() * 1000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ruche") as c,
    ):
        board = AsyncBoard(app.state.redis, keys=app.state.keys, clock=clock)
        app.state.board = board
        app.state.reviews = Reviews(
            board, app.state.redis, app.state.keys, lease_seconds=settings.review_lease_seconds
        )
        site = Site(c, clock)
        _, org = await Actors(c).org()
        async with scene(c, redis_url, org) as world:
            yield site, world


def in_thread(scenario: Callable[[Site, Scene], Coroutine[Any, Any, None]], redis_url: str) -> None:
    """Runs ``scenario`` on a running app, in an event loop on a thread of its own."""

    async def main() -> None:
        async with running(redis_url) as (site, world):
            await scenario(site, world)

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()


async def token_of(
    site: Site, languages: tuple[str, ...] = ("en", "fr")
) -> tuple[str, str, Headers]:
    """A new volunteer through the API: id, token and its headers (charter accepted)."""
    made = await site.client.post(
        "/v1/volunteers", json={"display_name": "Rev", "languages": list(languages)}
    )
    body = made.json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert (
        await site.client.post("/v1/me/charter", json={"accept": True}, headers=headers)
    ).is_success
    return body["id"], body["token"], headers


def csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str) -> None:
    client.cookies.clear()
    page = await client.get("/login?lang=en")
    done = await client.post(
        "/login/code", data={"csrf_token": csrf(page.text), "code": token, "next": "/review"}
    )
    assert done.status_code == 303, done.text
    await client.get(done.headers["location"])  # shows (and ends) the "signed in" message


async def in_review(
    site: Site, world: Scene, task_type: str, answers: list[dict[str, Any]], **project: Any
) -> str:
    project_id, [task_id] = await world.project(1, task_type=task_type, redundancy=2, **project)
    for answer in answers:
        _, _, headers = await token_of(site)
        await answer_all(site.client, [headers], answer)
    assert await world.open_review(project_id, task_id)
    return project_id


async def reviewer_on(site: Site, world: Scene, project_id: str) -> str:
    volunteer_id, token, _ = await token_of(site)
    await world.grant(project_id, volunteer_id)
    await sign_in(site.client, token)
    return token


async def review_next(client: httpx.AsyncClient) -> httpx.Response:
    queue = await client.get("/review?lang=en")
    return await client.post("/review/next", data={"csrf_token": csrf(queue.text)})


DATA_ENTRY = {"languages": ["en"]}


def test_a_volunteer_without_rights_reads_an_explanation(
    redis_client: redis.Redis, redis_url: str
) -> None:
    in_thread(a_volunteer_without_rights_reads_an_explanation, redis_url)


async def a_volunteer_without_rights_reads_an_explanation(site: Site, world: Scene) -> None:
    _, token, _ = await token_of(site)
    await sign_in(site.client, token)
    page = await site.client.get("/review?lang=en")
    assert page.status_code == 200
    assert "You do not review any project yet." in page.text
    assert "Review next" not in page.text


def test_the_queue_counts_per_project_and_review_next_claims(
    redis_client: redis.Redis, redis_url: str
) -> None:
    in_thread(the_queue_counts_per_project_and_review_next_claims, redis_url)


async def the_queue_counts_per_project_and_review_next_claims(site: Site, world: Scene) -> None:
    project_id = await in_review(
        site, world, "translation", [{"text": "Lavez vos mains."}, {"text": "Lave tes mains."}]
    )
    await reviewer_on(site, world, project_id)
    queue = await site.client.get("/review?lang=en")
    assert "1 item waits for you in your projects." in queue.text
    claimed = await review_next(site.client)
    assert claimed.status_code == 303
    assert claimed.headers["location"].startswith(f"/review/{project_id}.")
    item = await site.client.get(claimed.headers["location"])
    assert item.status_code == 200
    assert item.text.count(">Accept</button>") == 2
    # The second answer as a word diff against the first.
    assert re.search(r"<del>.*?Lavez.*?</del>", item.text)
    assert re.search(r"<ins>.*?Lave.*?</ins>", item.text)
    # Nothing else waits: the queue says so.
    assert "Nothing waits for review" in (await site.client.get("/review?lang=en")).text


def test_the_queue_leaves_out_what_i_answered_and_projects_i_cannot_read(
    redis_client: redis.Redis, redis_url: str
) -> None:
    in_thread(the_queue_leaves_out_what_i_answered_and_projects_i_cannot_read, redis_url)


async def the_queue_leaves_out_what_i_answered_and_projects_i_cannot_read(
    site: Site, world: Scene
) -> None:
    project_id, [task_id] = await world.project(1, task_type="translation", redundancy=2)
    answerers = [await token_of(site) for _ in range(2)]
    texts = ("Lavez vos mains.", "Lave tes mains.")
    for text, (_, _, headers) in zip(texts, answerers, strict=True):
        await answer_all(site.client, [headers], {"text": text})
    assert await world.open_review(project_id, task_id)

    # One who answered the task is a reviewer of the project too: nothing waits for them, and
    # "Review next" agrees with the page (DESIGN.md invariant 2).
    answerer_id, answerer_token, _ = answerers[0]
    await world.grant(project_id, answerer_id)
    await sign_in(site.client, answerer_token)
    queue = await site.client.get("/review?lang=en")
    assert "Nothing waits for review in your projects" in queue.text
    assert "Items whose tasks you answered yourself are left to other reviewers." in queue.text
    assert "Review next" not in queue.text
    assert re.search(r"Waiting for you</dt><dd>0<", queue.text)
    form = (await site.client.get("/logout")).text  # a page with a form, for its token
    tried = await site.client.post("/review/next", data={"csrf_token": csrf(form)})
    assert tried.headers["location"] == "/review?none=1"

    # A reviewer of the project who reads only Spanish is offered none of its (en -> fr) items.
    spanish_id, spanish_token, _ = await token_of(site, ("es",))
    await world.grant(project_id, spanish_id)
    await sign_in(site.client, spanish_token)
    queue = await site.client.get("/review?lang=en")
    assert "are in languages that are not among yours" in queue.text
    assert "Review next" not in queue.text and "Projects you review" not in queue.text
    form = (await site.client.get("/logout")).text  # a page with a form, for its token
    tried = await site.client.post("/review/next", data={"csrf_token": csrf(form)})
    assert tried.headers["location"] == "/review?none=1"

    # Another reviewer, who reads both, gets it.
    await reviewer_on(site, world, project_id)
    queue = await site.client.get("/review?lang=en")
    assert "1 item waits for you in your projects." in queue.text
    claimed = await review_next(site.client)
    assert claimed.headers["location"].startswith(f"/review/{project_id}.{task_id}.")


def test_someone_elses_review_and_a_random_id_are_the_same_404(
    redis_client: redis.Redis, redis_url: str
) -> None:
    in_thread(someone_elses_review_and_a_random_id_are_the_same_404, redis_url)


async def someone_elses_review_and_a_random_id_are_the_same_404(site: Site, world: Scene) -> None:
    project_id = await in_review(
        site, world, "moderation", [{"label": "ok"}, {"label": "spam"}], languages=["en"]
    )
    await reviewer_on(site, world, project_id)
    theirs = (await review_next(site.client)).headers["location"]
    await reviewer_on(site, world, project_id)  # another reviewer, signed in now
    pages = [
        await site.client.get(url)
        for url in (theirs, theirs[:-4] + "aaaa", "/review/nonsense", f"/review/{project_id}.x")
    ]
    assert {page.status_code for page in pages} == {404}
    bodies = {re.sub(r'(value|href)="[^"]+"', "", page.text) for page in pages}
    assert len(bodies) == 1, [b[b.index("<main") : b.index("</main>")] for b in bodies]
    mine = await site.client.get("/logout")  # a page with a form
    refused = await site.client.post(
        theirs, data={"csrf_token": csrf(mine.text), "action": "reject"}
    )
    assert refused.status_code == 404


def test_a_lease_that_ran_out_says_so_and_offers_the_next_item(
    redis_client: redis.Redis, redis_url: str
) -> None:
    in_thread(
        partial(a_lease_that_ran_out_says_so_and_offers_the_next_item, redis_client), redis_url
    )


async def a_lease_that_ran_out_says_so_and_offers_the_next_item(
    redis_client: redis.Redis, site: Site, world: Scene
) -> None:
    project_id = await in_review(
        site, world, "moderation", [{"label": "ok"}, {"label": "spam"}], languages=["en"]
    )
    await reviewer_on(site, world, project_id)
    url = (await review_next(site.client)).headers["location"]
    page = await site.client.get(url)
    site.clock.advance(61)
    ended = await site.client.get(url)
    assert ended.status_code == 409
    assert "The time for this review ran out" in ended.text
    assert "Review next" in ended.text
    # A decision sent from the page left open gets the same page, and decides nothing.
    sent = await site.client.post(url, data={"csrf_token": csrf(page.text), "action": "reject"})
    assert sent.status_code == 409
    assert "The time for this review ran out" in sent.text
    decisions = redis_client.hlen(world.keys.project(project_id).decisions)
    assert decisions == 0


def test_a_correction_is_checked_by_the_task_type_and_errors_sit_by_their_field(
    redis_client: redis.Redis, redis_url: str
) -> None:
    in_thread(a_correction_is_checked_by_the_task_type_and_errors_sit_by_their_field, redis_url)


async def a_correction_is_checked_by_the_task_type_and_errors_sit_by_their_field(
    site: Site, world: Scene
) -> None:
    project_id = await in_review(
        site,
        world,
        "data_entry",
        [
            {"values": {"name": "Ada", "email": "ada@example.org"}},
            {"values": {"name": "Ida", "email": "ada@example.org"}},
        ],
        languages=["en"],
    )
    await reviewer_on(site, world, project_id)
    url = (await review_next(site.client)).headers["location"]
    page = await site.client.get(url + "?lang=en")
    assert 'class="differs"' in page.text
    assert ">differs<" in page.text
    assert 'value="Ada"' in page.text or 'value="Ida"' in page.text  # pre-filled
    form = {"csrf_token": csrf(page.text), "action": "correct", "comment": "Check the spelling."}
    bad = await site.client.post(url, data={**form, "field-0": "Ada", "field-1": "not-an-email"})
    assert bad.status_code == 422
    assert 'id="field-1-error"' in bad.text
    assert re.search(r'id="field-1"[^>]*aria-describedby="empty-hint field-1-error"', bad.text)
    assert 'aria-invalid="true"' in bad.text
    assert "Check the spelling." in bad.text  # the comment is kept
    good = await site.client.post(
        url, data={**form, "field-0": "Ada", "field-1": "ada@example.org"}
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/review"
    decided = await site.client.get("/review?lang=en")
    assert "Decision saved." in decided.text


def test_a_form_without_its_csrf_token_is_refused(
    redis_client: redis.Redis, redis_url: str
) -> None:
    in_thread(a_form_without_its_csrf_token_is_refused, redis_url)


async def a_form_without_its_csrf_token_is_refused(site: Site, world: Scene) -> None:
    project_id = await in_review(
        site, world, "moderation", [{"label": "ok"}, {"label": "spam"}], languages=["en"]
    )
    await reviewer_on(site, world, project_id)
    url = (await review_next(site.client)).headers["location"]
    refused = await site.client.post(url, data={"action": "reject"})
    assert refused.status_code == 403
    assert (await site.client.get(url)).status_code == 200  # still mine, undecided
