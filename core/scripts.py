"""The board's Lua scripts: loaded from ``core/scripts/*.lua`` and registered once.

Each script file opens with a header listing its KEYS and ARGV; ``_prelude.lua`` holds helpers
shared by all of them and is prepended at load time (Redis has no ``require``), followed by the
libraries a script uses (:data:`LIBRARIES`: ``_reputation.lua`` for the reputation scripts).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from importlib import resources

import redis
import redis.asyncio

__all__ = ["LIBRARIES", "ScriptName", "load_all", "script_source"]


class ScriptName(StrEnum):
    CREATE_TASKS = "create_tasks"
    CLAIM = "claim"
    HEARTBEAT = "heartbeat"
    RELEASE = "release"
    SUBMIT = "submit"
    EXPIRE_LEASES = "expire_leases"
    UPDATE_PROJECT = "update_project"
    PUBLISH_RESULT = "publish_result"  # results feed (core.results)
    # volunteers' live-assignment cap, and reviews
    RESERVE_SLOT = "reserve_slot"
    OPEN_REVIEW = "open_review"
    CLAIM_REVIEW = "claim_review"
    DECIDE_REVIEW = "decide_review"
    EXPIRE_REVIEW_LEASES = "expire_review_leases"
    EXPIRE_DEADLINE = "expire_deadline"  # deadline expiry (core.deadlines)
    # the event pipeline (core.pipeline_ops)
    RESOLVE_TASK = "resolve_task"
    EXTEND_TASK = "extend_task"
    RECORD_STATS = "record_stats"
    ADD_FEEDBACK = "add_feedback"
    # reputations (core.reputation) and policy re-evaluation (core.reevaluation)
    APPLY_REPUTATION = "apply_reputation"
    READ_REPUTATION = "read_reputation"
    CLOSE_COLLECTION = "close_collection"


#: Helper files (``core/scripts/_<name>.lua``) a script needs besides the prelude.
LIBRARIES: Mapping[ScriptName, tuple[str, ...]] = {
    ScriptName.APPLY_REPUTATION: ("_reputation",),
    ScriptName.READ_REPUTATION: ("_reputation",),
}


def _read(name: str) -> str:
    return resources.files("core").joinpath("scripts", f"{name}.lua").read_text(encoding="utf-8")


@cache
def script_source(name: ScriptName) -> str:
    parts = ["_prelude", *LIBRARIES.get(name, ()), name.value]
    return "\n".join(_read(part) for part in parts)


def load_all(client: redis.Redis) -> dict[ScriptName, str]:
    """SCRIPT LOAD every script; returns each script's SHA1 for EVALSHA."""
    return {name: str(client.script_load(script_source(name))) for name in ScriptName}


async def load_all_async(client: redis.asyncio.Redis) -> dict[ScriptName, str]:
    return {name: str(await client.script_load(script_source(name))) for name in ScriptName}
