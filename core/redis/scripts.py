"""The board's Lua scripts: found beside the Python of their domain, registered once.

A script lives in the folder of what it changes (``core/board/claim.lua`` beside
``core/board/claims.py``, ``core/review/decide_review.lua`` beside ``core/review/items.py``…);
script names are unique across ``core/``, which :func:`lua_source` checks. Each script file opens
with a header listing its KEYS and ARGV; ``core/redis/_prelude.lua`` holds helpers shared by all
of them and is prepended at load time (Redis has no ``require``), followed by the libraries a
script uses (:data:`LIBRARIES`: ``core/quality/_reputation.lua`` for the reputation scripts).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

import redis
import redis.asyncio

__all__ = ["LIBRARIES", "READ_ONLY", "ScriptName", "load_all", "lua_source", "script_source"]


class ScriptName(StrEnum):
    CREATE_TASKS = "create_tasks"
    CLAIM = "claim"
    COUNT_CLAIMABLE = "count_claimable"  # what "Find work" offers (core.board.claims)
    HEARTBEAT = "heartbeat"
    RELEASE = "release"
    SUBMIT = "submit"
    EXPIRE_LEASES = "expire_leases"
    UPDATE_PROJECT = "update_project"
    PUBLISH_RESULT = "publish_result"  # results feed (core.delivery.results)
    # volunteers' live-assignment cap, and reviews
    RESERVE_SLOT = "reserve_slot"
    OPEN_REVIEW = "open_review"
    CLAIM_REVIEW = "claim_review"
    COUNT_REVIEWABLE = "count_reviewable"  # what the review queue page counts
    DECIDE_REVIEW = "decide_review"
    EXPIRE_REVIEW_LEASES = "expire_review_leases"
    REVOKE_REVIEWER = "revoke_reviewer"
    EXPIRE_DEADLINE = "expire_deadline"  # deadline expiry (core.projects.deadlines)
    # the event pipeline (core.quality.outcomes)
    RESOLVE_TASK = "resolve_task"
    EXTEND_TASK = "extend_task"
    RECORD_STATS = "record_stats"
    ADD_FEEDBACK = "add_feedback"
    # reputations (core.quality.reputation) and policy re-evaluation (core.projects.reevaluation)
    APPLY_REPUTATION = "apply_reputation"
    READ_REPUTATION = "read_reputation"
    REPLACE_REPUTATION = "replace_reputation"  # a project refit (core.quality.refit)
    RECORD_DECISION = "record_decision"  # what the refit reads (core.quality.project_quality)
    REPLACE_PROVISIONAL = "replace_provisional"  # a refit's guesses (core.quality.provisional)
    CLOSE_COLLECTION = "close_collection"
    # a project's measurements and "instructions unclear" reports (core.insights)
    FOLD_INSIGHTS = "fold_insights"
    RECORD_UNCLEAR = "record_unclear"
    # personal data and deletion (core.privacy)
    PSEUDONYMISE = "pseudonymise"
    REWRITE_RESULTS = "rewrite_results"
    DELETE_TASK = "delete_task"


#: Scripts that only read (tests/core/test_board_scripts.py checks their Redis calls): a batch
#: of them needs no ``WAIT`` on a cluster, so it does not go down the connections of bulk writes
#: (``AsyncBoard``'s ``batch_mux``) to queue behind them.
READ_ONLY: frozenset[ScriptName] = frozenset(
    {ScriptName.COUNT_CLAIMABLE, ScriptName.READ_REPUTATION, ScriptName.COUNT_REVIEWABLE}
)

#: Helper files (``_<name>.lua``) a script needs besides the prelude.
LIBRARIES: Mapping[ScriptName, tuple[str, ...]] = {
    ScriptName.APPLY_REPUTATION: ("_reputation",),
    ScriptName.READ_REPUTATION: ("_reputation",),
    ScriptName.REPLACE_REPUTATION: ("_reputation",),
}


@cache
def _lua_files() -> dict[str, Traversable]:
    """Every ``.lua`` file in core's domain folders, by name (without ``.lua``)."""
    found: dict[str, Traversable] = {}
    for folder in resources.files("core").iterdir():
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.endswith(".lua"):
                name = entry.name.removesuffix(".lua")
                if name in found:
                    raise RuntimeError(f"two Lua files are named {entry.name} in core/")
                found[name] = entry
    return found


def lua_source(name: str) -> str:
    """The text of ``<name>.lua``, wherever in core's folders it lives."""
    try:
        entry = _lua_files()[name]
    except KeyError:
        raise LookupError(f"no Lua file {name}.lua in core/") from None
    return entry.read_text(encoding="utf-8")


@cache
def script_source(name: ScriptName) -> str:
    parts = ["_prelude", *LIBRARIES.get(name, ()), name.value]
    return "\n".join(lua_source(part) for part in parts)


def load_all(client: redis.Redis) -> dict[ScriptName, str]:
    """SCRIPT LOAD every script; returns each script's SHA1 for EVALSHA."""
    return {name: str(client.script_load(script_source(name))) for name in ScriptName}


async def load_all_async(client: redis.asyncio.Redis) -> dict[ScriptName, str]:
    return {name: str(await client.script_load(script_source(name))) for name in ScriptName}
