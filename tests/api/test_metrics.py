"""/metrics: Prometheus text, counted per route template, never per concrete id."""

from __future__ import annotations

import httpx
import pytest
import redis
import redis.asyncio
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import read_board
from core.redis.keys import Keys
from core.redis.server import free_port
from core.settings import Settings
from tests.support.api.client import ADMIN, Actors, app_client
from tests.support.api.ngo import new_project, publish, submit, translation

pytestmark = pytest.mark.anyio


async def test_metrics_count_requests_by_route_template(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, ngo = await actors.org()
    project = "prj_" + "z" * 20
    assert (await api.get(f"/v1/projects/{project}", headers=ngo)).status_code == 404
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'ruche_http_requests_total{method="GET",route="/v1/projects/{project_id}",status="404"} 1.0'
        in text
    )
    assert 'ruche_http_requests_total{method="POST",route="/v1/orgs",status="201"} 1.0' in text
    assert project not in text  # ids never become label values
    assert "ruche_http_request_duration_seconds_bucket" in text


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text ``text`` (labels in any order)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    raise AssertionError(f"no sample {name}{labels} in /metrics")


async def test_claims_and_answers_are_counted_by_outcome_with_claim_latency(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    _, org = await actors.org()
    project = await new_project(api, org, redundancy=1)
    await submit(api, org, project["id"], [{"external_id": "a", "payload": translation(1)}])
    _, volunteer = await actors.volunteer()
    _, newcomer = await actors.volunteer(charter=False)

    claim = await api.post("/v1/assignments", json={}, headers=volunteer)
    assert claim.status_code == 201, claim.text
    assert (await api.post("/v1/assignments", json={}, headers=volunteer)).status_code == 204
    assert (await api.post("/v1/assignments", json={}, headers=newcomer)).status_code == 403
    submit_path = f"/v1/assignments/{claim.json()['id']}/submit"
    answer = {"answer": {"text": "Lavez-vous les mains, 1."}}
    assert (await api.post(submit_path, json=answer, headers=volunteer)).status_code == 202
    assert (await api.post(submit_path, json=answer, headers=volunteer)).status_code == 409

    text = (await api.get("/metrics")).text
    assert sample(text, "ruche_claims_total", outcome="claimed") == 1
    assert sample(text, "ruche_claims_total", outcome="nothing") == 1
    assert sample(text, "ruche_claims_total", outcome="refused") == 1
    assert sample(text, "ruche_claim_duration_seconds_count", outcome="claimed") == 1
    assert sample(text, "ruche_claim_duration_seconds_bucket", outcome="claimed", le="+Inf") == 1
    assert sample(text, "ruche_answer_submissions_total", outcome="accepted") == 1
    assert sample(text, "ruche_answer_submissions_total", outcome="refused") == 1


async def test_queue_depth_and_results_are_read_from_the_board_at_scrape_time(
    api: httpx.AsyncClient, actors: Actors, redis_url: str
) -> None:
    _, org = await actors.org()
    project = await new_project(api, org, redundancy=2)
    project_id = project["id"]
    tasks = [{"external_id": f"t{i}", "payload": translation(i)} for i in range(3)]
    created = await submit(api, org, project_id, tasks)
    _, volunteer = await actors.volunteer()
    assert (await api.post("/v1/assignments", json={}, headers=volunteer)).status_code == 201
    await publish(redis_url, project_id, [created["task_ids"][2]])

    text = (await api.get("/metrics", headers=ADMIN)).text  # the operator: per project
    assert sample(text, "ruche_board_readable") == 1
    assert sample(text, "ruche_projects") == 1
    assert sample(text, "ruche_tasks", project=project_id, state="open") == 2
    assert sample(text, "ruche_tasks", project=project_id, state="collecting") == 1
    assert sample(text, "ruche_tasks", project=project_id, state="resolved") == 0
    assert sample(text, "ruche_tasks_claimable", project=project_id) == 3  # one slot left
    assert sample(text, "ruche_reviews_waiting", project=project_id) == 0
    assert sample(text, "ruche_results_published_total", project=project_id) == 1
    assert sample(text, "ruche_webhook_deliveries_due") == 0

    # Anyone else: the same figures summed, and no project id (it names a tenant's object).
    public = (await api.get("/metrics")).text
    assert project_id not in public
    assert sample(public, "ruche_tasks", project="_all", state="open") == 2
    assert sample(public, "ruche_tasks_claimable", project="_all") == 3
    assert sample(public, "ruche_results_published_total", project="_all") == 1


async def test_the_listed_projects_are_bounded(
    api: httpx.AsyncClient, actors: Actors, redis_url: str
) -> None:
    _, org = await actors.org()
    made = {(await new_project(api, org, name=f"P{i}"))["id"] for i in range(3)}

    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        snapshot = await read_board(client, Keys(), limit=2)
    finally:
        await client.aclose()
    assert snapshot.projects_total == 3
    assert len(snapshot.projects) == 2
    assert {figures.project_id for figures in snapshot.projects} < made


async def test_metrics_still_answer_when_redis_is_unreachable() -> None:
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with app_client(settings) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert sample(response.text, "ruche_board_readable") == 0
    assert "ruche_http_requests_total" in response.text


async def test_private_metrics_answer_the_operator_token_only(
    redis_client: object, redis_url: str
) -> None:
    settings = Settings(
        redis_url=redis_url, admin_token=ADMIN["Authorization"][7:], metrics_public=False
    )
    async with app_client(settings) as client:
        anonymous = await client.get("/metrics")
        assert anonymous.status_code == 401
        _, ngo = await Actors(client).org()
        refused = await client.get("/metrics", headers=ngo)
        assert refused.status_code == 403
        assert refused.json()["error"]["message"] == (
            "this route needs the operator token (rk_admin_…)"
        )
        operator = await client.get("/metrics", headers=ADMIN)
    assert operator.status_code == 200
    assert "ruche_http_requests_total" in operator.text
