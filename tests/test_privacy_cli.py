"""``ruche privacy …``: the operator exports and erases a volunteer from the command line."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
import redis.asyncio

from core.accounts.store import Accounts
from core.redis.keys import Keys
from ruche.cli import main
from tests.support.key_scan import holding


def _volunteer(redis_url: str) -> str:
    async def make() -> str:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            volunteer_id, _ = await Accounts(client, Keys(), None).create_volunteer(
                "Orla Commandline", ["fr"], ["medicine"]
            )
            return volunteer_id
        finally:
            await client.aclose()

    return asyncio.run(make())


def test_the_operator_exports_then_erases_a_volunteer(
    redis_client: redis.Redis,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RUCHE_REDIS_URL", redis_url)
    volunteer_id = _volunteer(redis_url)

    assert main(["privacy", "export", volunteer_id]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["profile"]["display_name"] == "Orla Commandline"
    assert json.loads(exported["profile"]["skills"]) == ["medicine"]

    assert main(["privacy", "erase-volunteer", volunteer_id]) == 0
    assert main(["privacy", "jobs"]) == 0
    [job] = json.loads(capsys.readouterr().out)
    assert job["job"] == f"vol:{volunteer_id}" and "secret" not in job
    assert main(["privacy", "run"]) == 0
    assert main(["privacy", "jobs"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert holding(redis_client, [volunteer_id, "Orla Commandline"]) == []
    assert main(["privacy", "export", volunteer_id]) == 1
    assert main(["privacy", "erase-volunteer", volunteer_id]) == 1
