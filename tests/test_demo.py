"""The demo: its content, seeding through the real app (in-process), re-seeding without
duplicates, simulated answers, and ``ruche up --demo`` end to end as a real process."""

from __future__ import annotations

import json
import math
import re
import signal
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from core.board.operations import text
from core.settings import Settings
from ruche.demo import (
    ORG_NAME,
    STATE_FILE,
    DemoState,
    Person,
    ProjectRef,
    answer_some,
    banner_lines,
    load_state,
    save_state,
    seed,
)
from ruche.demo_content import demo_projects
from task_types import get as get_task_type
from tests.support.api.client import ADMIN_TOKEN, app_client
from tests.support.board import TestBoard
from tests.support.ruche_up import EXIT_TIMEOUT, Up, ruche_env, ruche_up, wait_until_ready

EXPECTED = {"translation": 25, "data_entry": 20, "moderation": 20}
DEMO_TIMEOUT = 60.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api(redis_client: redis.Redis, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def projects_of(api: httpx.AsyncClient, state: DemoState) -> list[dict[str, Any]]:
    listed = await api.get("/v1/projects", headers=bearer(state.api_key))
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


# -- the content ---------------------------------------------------------------------------------


def test_the_content_is_real_and_fictitious_where_it_must_be() -> None:
    translation, data_entry, moderation = demo_projects()
    sentences = [task["payload"]["source_text"] for task in translation.tasks]
    assert 20 <= len(sentences) <= 30 and len(set(sentences)) == len(sentences)
    assert all(s[0].isupper() and s[-1] in ".!" for s in sentences)
    assert any("bénévol" in s for s in sentences)  # French, accents and all
    assert {t["payload"]["source_lang"] for t in translation.tasks} == {"fr"}

    assert len(data_entry.tasks) == 20
    for task in data_entry.tasks:
        fields = {f["name"]: f for f in task["payload"]["fields"]}
        assert [f["type"] for f in fields.values()] == [
            "string",
            "number",
            "date",
            "email",
            "phone",
        ]
        assert fields["name"].get("required", True)
        values = data_entry.expected[task["external_id"]]["values"]
        document = task["payload"]["document"]["text"]
        assert values["name"].split()[-1].casefold() in document.casefold()
        assert values["email"] is None or values["email"].endswith("@example.org")
        # Phone numbers from the French ranges reserved for fiction (ARCEP).
        assert values["phone"] is None or values["phone"][:8] in ("01 99 00", "06 39 98")
        assert re.search(r"\b99\d{3}\b", document)  # a postcode no French town has

    assert len(moderation.tasks) == 20
    labels = [moderation.expected[t["external_id"]]["label"] for t in moderation.tasks]
    assert set(labels) == {"ok", "spam", "abuse"}
    assert all(t["payload"]["labels"] == ["ok", "spam", "abuse"] for t in moderation.tasks)
    ids = [t["external_id"] for p in demo_projects() for t in p.tasks]
    assert len(set(ids)) == len(ids)


# -- seeding through the app ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_seeding_creates_the_ngo_its_people_and_three_projects(
    api: httpx.AsyncClient,
) -> None:
    state = await seed(api, ADMIN_TOKEN)

    org = await api.get("/v1/org", headers=bearer(state.api_key))
    assert org.json()["name"] == ORG_NAME
    projects = {p["task_type"]: p for p in await projects_of(api, state)}
    assert set(projects) == set(EXPECTED)
    for task_type, count in EXPECTED.items():
        assert projects[task_type]["counts"]["open"] == count
        assert state.projects[task_type].id == projects[task_type]["id"]
    assert len(state.volunteers) == 3
    me = await api.get("/v1/me", headers=bearer(state.reviewer.token))
    assert sorted(me.json()["reviewer_of"]) == sorted(p.id for p in state.projects.values())
    for volunteer in state.volunteers:
        claimed = await api.post(
            "/v1/assignments", json={"task_types": ["translation"]}, headers=bearer(volunteer.token)
        )
        assert claimed.status_code == 201, claimed.text
        task = claimed.json()["task"]
        assert task["project_id"] == state.projects["translation"].id
        assert task["payload"]["source_lang"] == "fr" and task["payload"]["target_lang"] == "en"


@pytest.mark.anyio
async def test_seeding_again_finds_everything_and_creates_nothing(
    api: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    first = await seed(api, ADMIN_TOKEN)
    keys_before = {text(key) for key in redis_client.keys("*")}
    projects_before = await projects_of(api, first)

    second = await seed(api, ADMIN_TOKEN, first)

    assert second == first
    assert {text(key) for key in redis_client.keys("*")} == keys_before
    assert await projects_of(api, second) == projects_before
    assert len([k for k in keys_before if re.fullmatch(r"ruche:org:[^:]+", k)]) == 1


@pytest.mark.anyio
async def test_saved_tokens_that_no_longer_work_give_a_fresh_demo(
    api: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    stale = await seed(api, ADMIN_TOKEN)
    redis_client.flushall()  # the data is gone, the tokens file is not

    fresh = await seed(api, ADMIN_TOKEN, stale)

    assert fresh.org_id != stale.org_id and fresh.api_key != stale.api_key
    assert {p.token for p in fresh.people.values()}.isdisjoint(
        p.token for p in stale.people.values()
    )
    assert len(await projects_of(api, fresh)) == 3


@pytest.mark.anyio
async def test_simulated_volunteers_answer_about_half_of_the_tasks(
    api: httpx.AsyncClient,
) -> None:
    state = await seed(api, ADMIN_TOKEN)

    submitted = await answer_some(api, state)

    assert submitted == 13 * 3 + 10 * 2 + 10 * 3  # every answer was valid for its task type
    for project in await projects_of(api, state):
        counts = project["counts"]
        assert counts["aggregating"] == math.ceil(EXPECTED[project["task_type"]] / 2)
    assert await answer_some(api, state) == 0  # already done: nothing more


@pytest.mark.anyio
async def test_a_few_forum_posts_split_three_ways_and_go_to_the_reviewer(
    api: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    state = await seed(api, ADMIN_TOKEN)
    await answer_some(api, state)
    project = state.projects["moderation"].id
    [spec] = [p.spec for p in demo_projects() if p.key == "moderation"]
    assert spec["max_redundancy"] == spec["redundancy"] == 3  # no fourth answer is asked for
    board = TestBoard(redis_client)
    moderation = get_task_type("moderation")
    split = 0
    for number in range(1, EXPECTED["moderation"] + 1):
        task = f"t{number:010d}"
        entries = board.run(board.ops.answers(project, task))
        if len(entries) < 3:
            continue
        if len({entry["answer"]["label"] for entry in entries}) == 3:
            split += 1
            payload = moderation.parse_payload(board.run(board.ops.get_task(project, task)).payload)
            answers = [moderation.answer_model.model_validate(e["answer"]) for e in entries]
            assert not moderation.aggregate(payload, answers).agreed
    assert split >= 2


def test_the_tokens_file_is_private_and_reads_back(tmp_path: Path) -> None:
    state = DemoState(
        "org_x",
        ORG_NAME,
        "rk_org_secret",
        {"camille": Person("vol_1", "rk_vol_secret", "Camille")},
        {"translation": ProjectRef("prj_1", "Guide", "translation", 25)},
    )
    path = save_state(tmp_path / "data", state)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_state(tmp_path / "data") == state
    assert "demo only" in json.loads(path.read_text())["warning"].lower()
    path.write_text("{not json")
    assert load_state(tmp_path / "data") is None


@pytest.mark.anyio
async def test_the_banner_shows_every_token_and_commands_to_try(api: httpx.AsyncClient) -> None:
    state = await seed(api, ADMIN_TOKEN)
    text = "\n".join(banner_lines(state, "http://127.0.0.1:8000", Path(".ruche")))
    for token in [state.api_key, *(p.token for p in state.people.values())]:
        assert token in text
    assert "curl" in text and state.projects["translation"].id in text


# -- ruche up --demo, as a real process ----------------------------------------------------------


def wait_for_demo(up: Up) -> str:
    """The banner, once the demo's tokens are printed under it."""
    deadline = time.monotonic() + DEMO_TIMEOUT
    while "Press Ctrl-C" not in (banner := up.stdout.read_text()) or "Demo: " not in banner:
        assert up.process.poll() is None, up.output()
        assert time.monotonic() < deadline, up.output()
        time.sleep(0.1)
    return banner


def test_up_with_demo_seeds_once_and_shows_the_same_tokens_on_the_next_run(
    tmp_path: Path,
) -> None:
    env = ruche_env(tmp_path)
    with ruche_up(tmp_path, env, "--demo", name="first") as up:
        wait_until_ready(up)
        banner = wait_for_demo(up)
        ngo = re.search(r"NGO key\s+(rk_org_\S+)", banner)
        volunteer = re.search(r"Volunteer\s+(rk_vol_\S+)", banner)
        assert ngo and volunteer, banner
        claimed = httpx.post(
            f"{up.base_url}/v1/assignments",
            json={"task_types": ["translation"]},
            headers=bearer(volunteer.group(1)),
        )
        assert claimed.status_code == 201, claimed.text
        saved = up.data_dir / STATE_FILE
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert ngo.group(1) not in up.stderr.read_text()  # printed, never logged
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(timeout=EXIT_TIMEOUT) == 0, up.output()

    with ruche_up(tmp_path, env, "--demo", name="second") as again:
        wait_until_ready(again)
        banner = wait_for_demo(again)
        assert f"NGO key          {ngo.group(1)}" in banner
        listed = httpx.get(f"{again.base_url}/v1/projects", headers=bearer(ngo.group(1)))
        items = listed.json()["items"]
        assert sorted(p["task_type"] for p in items) == sorted(EXPECTED)
        assert {p["task_type"]: sum(p["counts"].values()) for p in items} == EXPECTED
        again.process.send_signal(signal.SIGTERM)
        assert again.process.wait(timeout=EXIT_TIMEOUT) == 0, again.output()
