"""The NGO's management commands: a project's whole policy, reviewers and the webhook.

``ruche project create`` takes every policy field of ``POST /v1/projects`` (:func:`add_policy`);
``ruche project edit|pause|resume|close`` change a project (``PATCH``); ``ruche reviewers
grant|revoke|list`` and ``ruche webhook set|show|delete|deliveries|redeliver`` cover the rest of
an organisation's API. Like the other NGO commands (:mod:`ruche.ngo_commands`) they talk HTTP
only, print JSON on stdout and say what happened on stderr.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from producers.client import RucheClient

__all__ = ["add_management_commands", "add_policy", "policy_fields"]

NgoCommand = Callable[[argparse.Namespace], int]
Runner = Callable[[argparse.Namespace, Callable[[RucheClient], int]], int]
Adder = Callable[[Any, str, NgoCommand, argparse.ArgumentParser, str], argparse.ArgumentParser]
Printer = Callable[[Any], None]

#: A project closes once its deadline has passed; the scheduler notices within seconds.
CLOSE_AFTER = timedelta(seconds=2)


def add_policy(parser: argparse.ArgumentParser) -> None:
    """The project fields both ``create`` and ``edit`` take (``edit``: only those given change)."""
    add = parser.add_argument
    add("--redundancy", type=int, metavar="N", help="answers wanted per task (default 3)")
    add(
        "--max-redundancy",
        type=int,
        metavar="N",
        help="ceiling on answers when they disagree; past it the task goes to a reviewer",
    )
    add("--languages", metavar="TAGS", help="comma-separated BCP-47 tags volunteers need (fr,en)")
    add("--skills", metavar="SKILLS", help="comma-separated skills volunteers need (medical,…)")
    add("--instructions", metavar="TEXT", help="shown to volunteers with every task")
    add("--impact-note", metavar="TEXT", help="what the work achieves, shown to volunteers")
    add(
        "--priority",
        type=int,
        metavar="N",
        help="higher projects are served first (-1000…1000, default 0)",
    )
    add(
        "--lease-seconds",
        type=int,
        metavar="S",
        help="how long a volunteer holds a task before it goes back (default 600)",
    )
    add("--deadline", metavar="WHEN", help="ISO 8601 with a zone, e.g. 2030-01-31T18:00:00Z")
    add(
        "--agreement",
        type=float,
        metavar="C",
        help="confidence (0..1) an answer needs without a reviewer (default: the type's own)",
    )
    add(
        "--spot-check-rate",
        type=float,
        metavar="R",
        help="share (0..1) of agreed results still sent to a reviewer (default 0)",
    )
    add(
        "--gold-rate",
        type=float,
        metavar="R",
        help="share (0..1) of served tasks that are gold tasks, once settled (default 0)",
    )
    add(
        "--gold-initial-rate",
        type=float,
        metavar="R",
        help="share of gold tasks in a newcomer's first tasks (default: 4 x --gold-rate)",
    )
    add(
        "--gold-warmup-tasks",
        type=int,
        metavar="N",
        help="a newcomer's first N tasks get --gold-initial-rate (default 20)",
    )
    add(
        "--gold-settle-tasks",
        type=int,
        metavar="N",
        help="from N tasks on the share is --gold-rate (default 60)",
    )
    add(
        "--qualification-tasks",
        type=int,
        metavar="N",
        help="gold tasks a volunteer must pass before real ones (default: no qualification)",
    )
    add(
        "--qualification-pass-rate",
        type=float,
        metavar="R",
        help="share of them to get right (default 0.8)",
    )
    add(
        "--qualification-cooldown",
        type=int,
        metavar="S",
        help="seconds to wait after a failed round (default 3600)",
    )
    add(
        "--reputation-floor",
        type=float,
        metavar="R",
        help="estimated accuracy (0..1) under which a volunteer is no longer served this project",
    )
    add(
        "--max-tasks-per-volunteer",
        type=int,
        metavar="N",
        help="most tasks of this project one volunteer may claim (default: no cap)",
    )
    add("--retention-days", type=int, metavar="D",
        help="days after closing when answers, results and payloads are removed")  # fmt: skip


def _listed(value: str | None) -> list[str] | None:
    return None if value is None else [part.strip() for part in value.split(",") if part.strip()]


def policy_fields(
    args: argparse.Namespace, current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The request body's fields for the flags given. Nested policies (``review``, ``gold``,
    ``qualification``) are sent whole: ``current`` (the project, when editing) fills in what
    the flags leave out, so changing one part keeps the others."""
    current = current or {}
    body: dict[str, Any] = {
        field: value
        for field, value in (
            ("redundancy", args.redundancy),
            ("max_redundancy", args.max_redundancy),
            ("languages", _listed(args.languages)),
            ("skills", _listed(args.skills)),
            ("instructions", args.instructions),
            ("impact_note", args.impact_note),
            ("priority", args.priority),
            ("lease_seconds", args.lease_seconds),
            ("deadline", args.deadline),
            ("gold_rate", args.gold_rate),
            ("reputation_floor", args.reputation_floor),
            ("max_tasks_per_volunteer", args.max_tasks_per_volunteer),
            ("retention_days", args.retention_days),
        )
        if value is not None
    }
    nested = {
        "review": {"agreement": args.agreement, "spot_check_rate": args.spot_check_rate},
        "gold": {
            "initial_rate": args.gold_initial_rate,
            "warmup_tasks": args.gold_warmup_tasks,
            "settle_tasks": args.gold_settle_tasks,
        },
        "qualification": {
            "gold_tasks": args.qualification_tasks,
            "pass_rate": args.qualification_pass_rate,
            "cooldown_seconds": args.qualification_cooldown,
        },
    }
    for field, given in nested.items():
        changed = {key: value for key, value in given.items() if value is not None}
        if changed:
            body[field] = {**(current.get(field) or {}), **changed}
    return body


def add_management_commands(
    commands: Any,
    projects: Any,
    connection: argparse.ArgumentParser,
    add: Adder,
    run: Runner,
    show: Printer,
) -> None:
    """``project edit|pause|resume|close`` on the ``project`` actions, then ``reviewers`` and
    ``webhook`` on ``ruche``'s commands (``add``, ``run``, ``show``: ruche.ngo_commands')."""

    def project_id(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("project_id", metavar="PROJECT_ID", help="the project's id (prj_…)")

    def patch(changes: Callable[[argparse.Namespace, RucheClient], dict[str, Any]]) -> NgoCommand:
        def command(args: argparse.Namespace) -> int:
            def send(client: RucheClient) -> int:
                path = f"/v1/projects/{quote(args.project_id, safe='')}"
                body = changes(args, client)
                show(client.request("PATCH", path, json_body=body).json())
                return 0

            return run(args, send)

        return command

    def edited(args: argparse.Namespace, client: RucheClient) -> dict[str, Any]:
        path = f"/v1/projects/{quote(args.project_id, safe='')}"
        body = policy_fields(args, client.request("GET", path).json())
        if args.name is not None:
            body["name"] = args.name
        return body

    edit = add(
        projects,
        "edit",
        patch(edited),
        connection,
        "change a project's name or policy (only the options given change); prints it",
    )
    project_id(edit)
    edit.add_argument("--name", metavar="NAME", help="the project's new name")
    add_policy(edit)
    for name, state, text in [
        ("pause", "paused", "pause a project: no task is served until it resumes"),
        ("resume", "active", "resume a paused project"),
    ]:
        project_id(add(projects, name, patch(_to_state(state)), connection, text))
    close = add(projects, "close", patch(_closing), connection, "close a project now: its "
                "deadline becomes now, unfinished tasks expire; final")  # fmt: skip
    project_id(close)

    reviewers = commands.add_parser(
        "reviewers",
        help="grant, revoke or list a project's reviewers (NGO side)",
        description="Volunteers with review rights on a project.",
    )
    actions = reviewers.add_subparsers(title="actions", required=True, metavar="ACTION")

    def reviewer_call(method: str) -> NgoCommand:
        def command(args: argparse.Namespace) -> int:
            def send(client: RucheClient) -> int:
                base = f"/v1/projects/{quote(args.project, safe='')}/reviewers"
                if method == "POST":
                    body = {"volunteer_id": args.volunteer_id}
                    show(client.request("POST", base, json_body=body).json())
                elif method == "DELETE":
                    client.request("DELETE", f"{base}/{quote(args.volunteer_id, safe='')}")
                    show({"project_id": args.project, "volunteer_id": args.volunteer_id,
                          "revoked": True})  # fmt: skip
                else:
                    show(client.request("GET", base).json()["items"])
                return 0

            return run(args, send)

        command.__name__ = f"reviewers_{method.lower()}"
        return command

    for name, method, text in [
        ("grant", "POST", "give a volunteer review rights on the project"),
        ("revoke", "DELETE", "take a volunteer's review rights on the project away"),
        ("list", "GET", "list the volunteer ids with review rights on the project"),
    ]:
        sub = add(actions, name, reviewer_call(method), connection, text)
        sub.add_argument("--project", required=True, metavar="ID", help="the project (prj_…)")
        if name != "list":
            sub.add_argument("volunteer_id", metavar="VOLUNTEER_ID", help="the volunteer (vol_…)")

    webhook = commands.add_parser(
        "webhook",
        help="set, show or remove the results webhook; list and redeliver deliveries (NGO side)",
        description="Where your organisation's results are delivered (signed, retried).",
    )
    hooks = webhook.add_subparsers(title="actions", required=True, metavar="ACTION")

    def hook(body: Callable[[argparse.Namespace, RucheClient], Any]) -> NgoCommand:
        def command(args: argparse.Namespace) -> int:
            def send(client: RucheClient) -> int:
                show(body(args, client))
                return 0

            return run(args, send)

        return command

    set_ = add(hooks, "set", hook(lambda a, c: c.set_webhook(a.target).model_dump(mode="json")),
               connection, "deliver results to this https:// address; prints the signing secret "
               "(shown once)")  # fmt: skip
    set_.add_argument("target", metavar="URL", help="the https:// endpoint that receives results")
    add(hooks, "show", hook(lambda a, c: c.get_webhook().model_dump(mode="json")), connection,
        "show the endpoint (never its secret)")  # fmt: skip
    add(hooks, "delete", hook(_delete_webhook),
        connection, "stop delivering results by webhook")  # fmt: skip
    deliveries = add(
        hooks,
        "deliveries",
        hook(_deliveries),
        connection,
        "list recent deliveries, newest first, with their status and last error",
    )
    deliveries.add_argument("--limit", type=int, default=50, metavar="N",
                            help="how many (default %(default)s)")  # fmt: skip
    redeliver = add(
        hooks,
        "redeliver",
        hook(_redeliver),
        connection,
        "send a delivery again (a failed one, or to check the receiver)",
    )
    redeliver.add_argument("delivery_id", metavar="DELIVERY_ID", help="from `webhook deliveries`")


def _to_state(state: str) -> Callable[[argparse.Namespace, RucheClient], dict[str, Any]]:
    def changes(args: argparse.Namespace, client: RucheClient) -> dict[str, Any]:
        return {"state": state}

    return changes


def _delete_webhook(args: argparse.Namespace, client: RucheClient) -> Any:
    client.delete_webhook()
    return {"deleted": True}


def _closing(args: argparse.Namespace, client: RucheClient) -> dict[str, Any]:
    return {"deadline": (datetime.now(UTC) + CLOSE_AFTER).isoformat()}


def _deliveries(args: argparse.Namespace, client: RucheClient) -> Any:
    return [delivery.model_dump(mode="json") for delivery in client.deliveries(args.limit)]


def _redeliver(args: argparse.Namespace, client: RucheClient) -> Any:
    return client.redeliver(args.delivery_id).model_dump(mode="json")
