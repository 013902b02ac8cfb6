"""``ruche privacy …``: the operator's personal-data commands, straight on Redis (RUCHE_REDIS_URL).

- ``export VOLUNTEER_ID``: everything held about a volunteer, as JSON (a request made to the
  operator by email or letter, say);
- ``erase-volunteer VOLUNTEER_ID``, ``delete-project PROJECT_ID``, ``delete-task PROJECT_ID
  TASK_ID``, ``delete-org ORG_ID``: start a deletion, as the API routes do;
- ``jobs``: the deletions under way, with their phase;
- ``run``: run the deletions now, batch by batch, until none is left to do now (the scheduler
  does the same a little at every tick; both at once is harmless).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio

from core.board.runner import Board
from core.board.script_calls import text
from core.privacy import (
    export_volunteer,
    job_ids,
    org_deletion,
    project_deletion,
    run_due_jobs,
    start_volunteer_erasure,
    task_deletion,
    task_job,
)
from core.privacy.projects import SETTLE_MS
from core.privacy.volunteers import describe
from core.redis.clients import async_redis_client, redis_client, replicated_scripts
from core.redis.keys import Keys
from core.settings import Settings

__all__ = ["add_privacy_commands"]

EXIT_OK, EXIT_FAILED = 0, 1
Action = Callable[[Settings, argparse.Namespace], int]


def add_privacy_commands(commands: Any) -> None:
    privacy = commands.add_parser(
        "privacy",
        help="personal data: export, erase, delete, and the deletion jobs (operator)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    actions = privacy.add_subparsers(title="actions", required=True, metavar="ACTION")

    def add(name: str, action: Action, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        sub.set_defaults(privacy_action=action)
        return sub

    add("export", _export, "print everything held about a volunteer as JSON").add_argument(
        "volunteer_id", help="the volunteer (vol_…)"
    )
    add("erase-volunteer", _erase, "erase a volunteer's account").add_argument(
        "volunteer_id", help="the volunteer (vol_…)"
    )
    add("delete-project", _delete_project, "delete a project and everything under it").add_argument(
        "project_id", help="the project (prj_…)"
    )
    task = add("delete-task", _delete_task, "delete one task of a project")
    task.add_argument("project_id", help="the project (prj_…)")
    task.add_argument("task_id", help="the task, in that project")
    add("delete-org", _delete_org, "delete an organisation and everything it owns").add_argument(
        "org_id", help="the organisation (org_…)"
    )
    add("jobs", _jobs, "list the deletions under way")
    run = add("run", _run, "run the deletions now until none is left to do")
    run.add_argument("--batches", type=int, default=100_000, help="stop after this many batches")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _async(settings: Settings, body: Callable[[redis.asyncio.Redis, Keys], Any]) -> Any:
    async def main() -> Any:
        client = async_redis_client(settings, "ruche", connect_timeout_s=5, timeout_s=30)
        try:
            return await body(client, Keys(settings.key_prefix))
        finally:
            await client.aclose()

    return asyncio.run(main())


def _sync(settings: Settings) -> Board:
    client = redis_client(settings, "ruche", connect_timeout_s=5, timeout_s=30)
    return Board(
        client, keys=Keys(settings.key_prefix), replicated=replicated_scripts(settings, client)
    )


def _export(settings: Settings, args: argparse.Namespace) -> int:
    found = _async(settings, lambda c, k: export_volunteer(c, k, args.volunteer_id))
    if found is None:
        _say("ruche: no such volunteer")
        return EXIT_FAILED
    print(json.dumps(found, indent=2, ensure_ascii=False))
    return EXIT_OK


def _erase(settings: Settings, args: argparse.Namespace) -> int:
    stopped = _async(
        settings, lambda c, k: start_volunteer_erasure(c, k, args.volunteer_id, _now_ms())
    )
    if stopped is None:
        _say("ruche: no such volunteer")
        return EXIT_FAILED
    _say(f"erasing {args.volunteer_id}: its token no longer works; `ruche privacy run` finishes")
    return EXIT_OK


def _owner(board: Board, project_id: str) -> str | None:
    raw = board.client.hget(board.keys.project(project_id).project, "doc")
    org_id = json.loads(text(raw)).get("org_id") if raw else None
    if not org_id or not board.client.sismember(board.keys.org_projects(org_id), project_id):
        return None
    return str(org_id)


def _delete_project(settings: Settings, args: argparse.Namespace) -> int:
    board = _sync(settings)
    org_id = _owner(board, args.project_id)
    if org_id is None:
        _say("ruche: no such project (or it is being deleted)")
        return EXIT_FAILED
    board.run(project_deletion(board.keys, args.project_id, org_id, _now_ms()))
    _say(f"deleting {args.project_id}; `ruche privacy run` finishes")
    return EXIT_OK


def _delete_task(settings: Settings, args: argparse.Namespace) -> int:
    board = _sync(settings)
    org_id = _owner(board, args.project_id)
    found, ended = (
        board.run(task_deletion(board.keys, args.project_id, args.task_id))
        if org_id
        else (False, [])
    )
    if not found or org_id is None:
        _say("ruche: no such task")
        return EXIT_FAILED
    board.run(task_job(board.keys, args.project_id, args.task_id, org_id, ended, _now_ms()))
    _say(f"deleting {args.task_id}; `ruche privacy run` finishes")
    return EXIT_OK


def _delete_org(settings: Settings, args: argparse.Namespace) -> int:
    board = _sync(settings)
    record = board.client.hgetall(board.keys.org(args.org_id))
    if not record or "deleting" in record:
        _say("ruche: no such organisation (or it is being deleted)")
        return EXIT_FAILED
    raw_keys = board.client.hvals(board.keys.org_keys(args.org_id))
    hashes = [str(json.loads(text(raw)).get("hash")) for raw in raw_keys]
    board.run(org_deletion(board.keys, args.org_id, [h for h in hashes if h], _now_ms()))
    _say(f"deleting {args.org_id}; `ruche privacy run` finishes")
    return EXIT_OK


def _jobs(settings: Settings, args: argparse.Namespace) -> int:
    board = _sync(settings)
    listing = []
    for job_id, due in job_ids(board.client, board.keys):
        state = {
            text(k): text(v)
            for k, v in board.client.hgetall(board.keys.privacy_job(job_id)).items()
        }
        listing.append({"job": job_id, "due_ms": due, **describe(state)})
    print(json.dumps(listing, indent=2))
    return EXIT_OK


def _run(settings: Settings, args: argparse.Namespace) -> int:
    board = _sync(settings)
    total = 0
    while total < args.batches:
        report = run_due_jobs(
            board,
            # Asked for now: the short settling pause a deletion starts with is not waited for.
            now_ms=_now_ms() + SETTLE_MS,
            batch=settings.privacy_batch,
            max_batches=min(settings.privacy_batches_per_tick, args.batches - total),
        )
        total += report.batches
        if report.batches == 0:
            break
    left = job_ids(board.client, board.keys)
    _say(f"{total} batches run; {len(left)} job(s) left" + (" (waiting)" if left else ""))
    return EXIT_OK
