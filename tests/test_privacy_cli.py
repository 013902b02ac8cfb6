"""``ruche privacy …``: the operator exports and erases a volunteer from the command line.

The command runs its own event loop (``asyncio.run``), as it does in a terminal: here each call
runs on a thread of its own, so that no loop another test left in this process is in its way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
import redis
import redis.asyncio

from core.accounts.store import Accounts
from core.redis.keys import Keys
from ruche.cli import main
from tests.support.key_scan import holding

T = TypeVar("T")


def on_a_thread(call: Callable[[], T]) -> T:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def ruche(*argv: str) -> int:
    return on_a_thread(lambda: main(list(argv)))


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

    return on_a_thread(lambda: asyncio.run(make()))


def test_the_operator_exports_then_erases_a_volunteer(
    redis_client: redis.Redis,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RUCHE_REDIS_URL", redis_url)
    volunteer_id = _volunteer(redis_url)

    assert ruche("privacy", "export", volunteer_id) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["profile"]["display_name"] == "Orla Commandline"
    assert json.loads(exported["profile"]["skills"]) == ["medicine"]

    assert ruche("privacy", "erase-volunteer", volunteer_id) == 0
    assert ruche("privacy", "jobs") == 0
    [job] = json.loads(capsys.readouterr().out)
    assert job["job"] == f"vol:{volunteer_id}" and "secret" not in job
    assert ruche("privacy", "run") == 0
    assert ruche("privacy", "jobs") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert holding(redis_client, [volunteer_id, "Orla Commandline"]) == []
    assert ruche("privacy", "export", volunteer_id) == 1
    assert ruche("privacy", "erase-volunteer", volunteer_id) == 1
