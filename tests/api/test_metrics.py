"""/metrics: Prometheus text, counted per route template, never per concrete id."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Actors

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
