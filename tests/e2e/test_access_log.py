"""Tokens and secrets sent in a query string never reach the access log of a real uvicorn.

Clients do put them there (``curl "$R/v1/projects?token=$ADMIN"``); uvicorn logs each request's
path with its query string, and the operator's own token would sit in the log for good. What is
not secret in the query (a results cursor, a page size) stays, so the line is still useful.
"""

from __future__ import annotations

import time

import httpx

from core.accounts.tokens import new_token
from tests.support.live_ruche import ADMIN_TOKEN, RunningApi


def test_query_string_tokens_and_secrets_never_reach_the_access_log(
    running_api: RunningApi,
) -> None:
    org_token = new_token("org")
    secrets = {
        "admin": ADMIN_TOKEN,
        "org": org_token,
        "password": "hunter2-" + "p" * 20,
        "api_key": "plain-" + "k" * 24,
        "webhook": "whsec_" + "c2VjcmV0" * 4,
    }
    paths = [
        f"/v1/projects?token={ADMIN_TOKEN}&after=cursor-kept-1",
        f"/v1/projects?limit=5&access_token={org_token}",
        f"/v1/org?api_key={secrets['api_key']}&password={secrets['password']}",
        f"/v1/webhook?note=whatever&x={secrets['webhook']}",  # a secret under any name
        f"/v1/projects/{org_token}?after=cursor-kept-2",  # a token where a path goes
    ]
    with httpx.Client(base_url=running_api.base_url, timeout=5) as client:
        for path in paths:
            assert client.get(path).status_code in (401, 404), path
        # A marker request last: once its line is in the log, all the lines above are too.
        assert client.get("/healthz?marker=end-of-test").status_code == 200

    deadline = time.monotonic() + 30
    while "end-of-test" not in running_api.log.read_text():
        assert time.monotonic() < deadline, running_api.log.read_text()
        time.sleep(0.05)
    log = running_api.log.read_text()
    access = [line for line in log.splitlines() if "uvicorn.access" in line]
    assert len(access) >= len(paths), log
    for name, secret in secrets.items():
        assert secret not in log, f"the {name} secret is in the access log"
    assert "cursor-kept-1" in log and "cursor-kept-2" in log and "limit=5" in log
    assert "token=[redacted]" in log
