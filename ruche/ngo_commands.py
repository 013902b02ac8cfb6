"""The NGO side of the ``ruche`` command: ``project``, ``submit``, ``results`` and ``invite``
(``project edit|pause|resume|close``, ``reviewers`` and ``webhook``: :mod:`ruche.manage_commands`).

They run on an NGO's own machine and talk to a Ruche server over HTTP only (``producers``):
no Redis, no server settings. Each takes ``--url`` and ``--token``, which default to the
``RUCHE_URL`` and ``RUCHE_TOKEN`` environment variables (prefer the variable for the token:
command lines are visible to every user of the machine).

Machine-readable output (a project, a summary, results) goes to stdout; progress, bad rows and
hints go to stderr. Exit codes: 0 done, 1 done with bad rows or refused by the server,
2 usage, 130 interrupted (run the same command again: it picks up where it stopped).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import ValidationError

from producers.bulk import DEFAULT_CHUNK
from producers.client import ENV_TOKEN, ENV_URL, RucheClient
from producers.errors import RucheError
from producers.formats import FILE_FORMATS, format_of
from producers.models import FIRST_CURSOR, NewProject
from ruche.manage_commands import add_management_commands, add_policy, policy_fields
from task_types.registry import installed_names

if TYPE_CHECKING:
    from producers.file_submission import FileSubmission

# translate-toolkit, tqdm and the task types load only when a command needs them, so that
# `ruche api` and `ruche worker` do not pay for them at every start (the help names the installed
# types from their entry points, without importing them).

__all__ = ["add_ngo_commands"]

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_REVIEW_BELOW = 0.8
NgoCommand = Callable[[argparse.Namespace], int]


def add_ngo_commands(commands: Any) -> None:
    """Register ``project``, ``submit``, ``results`` and ``invite`` on ``ruche``'s sub-commands."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--url", default=None, help=f"Ruche server address (${ENV_URL})")
    connection.add_argument(
        "--token", default=None, help=f"the organisation's API key (${ENV_TOKEN}; safer)"
    )

    project = commands.add_parser(
        "project", help="create or list projects (NGO side)", description="Projects of your NGO."
    )
    actions = project.add_subparsers(title="actions", required=True, metavar="ACTION")
    create = _add(actions, "create", _project_create, connection, "create a project; prints it "
                  "as JSON")  # fmt: skip
    create.add_argument("--name", required=True, metavar="NAME", help="the project's name")
    create.add_argument(
        "--task-type",
        required=True,
        help=f"the server's task type: {', '.join(installed_names())}… (GET /v1/task-types)",
    )
    add_policy(create)
    create.add_argument(
        "--no-translation-memory",
        action="store_true",
        help="confidential texts: never show translators similar past results of the project",
    )
    create.add_argument(
        "--invitation-only",
        action="store_true",
        help="serve the project only to volunteers invited to it or to the organisation "
        "(ruche invite --project ID)",
    )
    _add(actions, "list", _project_list, connection, "list your projects as JSON")
    delete = _add(actions, "delete", _project_delete, connection, "delete a project (or, with "
                  "--task, one task) and everything under it")  # fmt: skip
    delete.add_argument("project_id", metavar="PROJECT_ID", help="the project's id (prj_…)")
    delete.add_argument("--task", metavar="TASK_ID", help="delete only this task")

    submit = _add(commands, "submit", _submit, connection, "submit a file of tasks: CSV, JSONL, "
                  "PO or XLIFF (NGO side)")  # fmt: skip
    submit.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="the tasks: one per CSV row, JSONL line, PO entry or XLIFF unit",
    )
    submit.add_argument("--project", required=True, metavar="ID", help="the project (prj_…)")
    submit.add_argument("--format", choices=FILE_FORMATS, help="default: from the extension")
    submit.add_argument("--source-lang", help="PO/XLIFF: the source language, if the file "
                        "does not say (BCP-47, e.g. en)")  # fmt: skip
    submit.add_argument("--target-lang", help="PO/XLIFF: the target language, if the file "
                        "does not say")  # fmt: skip
    submit.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK,
        metavar="N",
        help="tasks per request (default %(default)s, at most 10000)",
    )
    submit.add_argument("--no-progress", action="store_true", help="no progress bar")

    results = _add(commands, "results", _results, connection, "print or write back a "
                   "project's results (NGO side)")  # fmt: skip
    results.add_argument("--project", required=True, metavar="ID", help="the project (prj_…)")
    results.add_argument(
        "--format",
        choices=FILE_FORMATS,
        default=None,
        help="jsonl (default), csv, or a new po/xliff file (the server's export)",
    )
    results.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="FILE",
        help="po/xliff: write the file here instead of stdout (whole: an interrupted download "
        "leaves no half file)",
    )
    results.add_argument(
        "--follow",
        action="store_true",
        help="keep polling for new results (jsonl/csv) until Ctrl-C",
    )
    results.add_argument(
        "--into",
        type=Path,
        metavar="FILE",
        help="write translations into this PO/XLIFF file (the one submitted)",
    )
    results.add_argument(
        "--after",
        default=FIRST_CURSOR,
        metavar="CURSOR",
        help="only results after this cursor (printed at the end of a run)",
    )
    results.add_argument(
        "--review-below",
        type=float,
        default=DEFAULT_REVIEW_BELOW,
        metavar="C",
        help="confidence under which a translation is marked "
        "for review (fuzzy) (default %(default)s)",
    )
    results.add_argument(
        "--target-lang",
        help="with --into: the file's target language, if it does not say (as given to submit)",
    )
    results.add_argument(
        "--poll-interval",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds between polls with --follow (default %(default)s)",
    )

    add_management_commands(commands, actions, connection, _add, _run, _print_json)

    invite = _add(commands, "invite", _invite, connection, "make a volunteer invitation code "
                  "(sign-up by invitation), or list or revoke them; with the operator's token "
                  "or an NGO's API key; prints JSON")  # fmt: skip
    invite.add_argument("--uses", type=int, default=1, help="people who may join with it (1)")
    invite.add_argument("--days", type=int, default=14, help="days until it expires (14)")
    invite.add_argument("--project", metavar="ID", help="admit to this project only (an NGO's "
                        "invitation-only project); default: the whole organisation")  # fmt: skip
    action = invite.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list your codes (not the codes)")
    action.add_argument("--revoke", metavar="ID", help="revoke an invitation: it stops at once")


def _add(
    commands: Any, name: str, run: NgoCommand, parent: argparse.ArgumentParser, text: str
) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(
        name, help=text, description=text, parents=[parent]
    )
    sub.set_defaults(ngo_command=run)
    return sub


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _client(args: argparse.Namespace) -> RucheClient | None:
    url = args.url or os.environ.get(ENV_URL)
    token = args.token or os.environ.get(ENV_TOKEN)
    if not url:
        _say(f"ruche: give the server's address with --url or {ENV_URL}")
        return None
    if not token:
        _say(f"ruche: give your organisation's API key with {ENV_TOKEN} (or --token)")
        return None
    return RucheClient(url, token)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _run(args: argparse.Namespace, body: Callable[[RucheClient], int]) -> int:
    """Run ``body`` with a client; server refusals become a message and exit code 1."""
    client = _client(args)
    if client is None:
        return EXIT_USAGE
    try:
        with client:
            return body(client)
    except RucheError as error:
        _say(f"ruche: {error.describe()}")
        return EXIT_PARTIAL


# -- project ---------------------------------------------------------------------------------


def _project_create(args: argparse.Namespace) -> int:
    fields = policy_fields(args)
    fields.setdefault("instructions", f"Please complete each {args.task_type} task carefully.")
    if args.no_translation_memory:
        fields["translation_memory"] = False
    if args.invitation_only:
        fields["invitation_only"] = True
    try:
        spec = NewProject(name=args.name, task_type=args.task_type, **fields)
    except ValidationError:
        _say("ruche: --deadline is an ISO 8601 date and time with a zone (2030-01-31T18:00Z)")
        return EXIT_USAGE

    def create(client: RucheClient) -> int:
        # The server's whole reply (every policy field), not the client's summary model.
        body = spec.model_dump(mode="json", exclude_none=True)
        reply = client.request("POST", "/v1/projects", json_body=body).json()
        _print_json(reply)
        for warning in reply.get("warnings") or []:  # e.g. redundancy 1: all go to review
            _say(f"ruche: warning: {warning}")
        return EXIT_OK

    return _run(args, create)


def _project_list(args: argparse.Namespace) -> int:
    def listing(client: RucheClient) -> int:
        _print_json([project.model_dump(mode="json") for project in client.list_projects()])
        return EXIT_OK

    return _run(args, listing)


def _project_delete(args: argparse.Namespace) -> int:
    def delete(client: RucheClient) -> int:
        if args.task:
            _print_json(client.delete_task(args.project_id, args.task))
        else:
            _print_json(client.delete_project(args.project_id))
        return EXIT_OK

    return _run(args, delete)


# -- submit ----------------------------------------------------------------------------------


def _submit(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        _say(f"ruche: no such file: {args.file}")
        return EXIT_USAGE
    if not 1 <= args.chunk_size <= 10_000:
        _say("ruche: --chunk-size is 1 to 10000")
        return EXIT_USAGE
    from tqdm import tqdm

    from producers.file_submission import FileOptions, SubmitFileError, submit_file

    options = FileOptions(args.format, args.source_lang, args.target_lang, args.chunk_size)
    bar: tqdm[Any] | None = None

    def started(lines: int) -> None:
        nonlocal bar
        bar = tqdm(total=lines, unit="line", file=sys.stderr, disable=args.no_progress,
                   desc="submitting", mininterval=0.2)  # fmt: skip

    def progressed(line: int) -> None:
        if bar is not None and line > bar.n:
            bar.update(line - bar.n)

    def upload(client: RucheClient) -> int:
        try:
            outcome = submit_file(
                client, args.project, args.file, options, on_start=started, on_progress=progressed
            )
        except SubmitFileError as error:
            _say(f"ruche: {error}")
            return EXIT_USAGE
        finally:
            if bar is not None:
                bar.close()
        _report_submission(outcome)
        return EXIT_PARTIAL if outcome.bad else EXIT_OK

    try:
        return _run(args, upload)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        _say("ruche: interrupted. Run the same command again to finish: chunks already "
             "uploaded are recognised, and no task is created twice.")  # fmt: skip
        return EXIT_INTERRUPTED


def _report_submission(outcome: FileSubmission) -> None:
    report = outcome.report
    for note in outcome.notes:
        _say(f"note: {note}")
    for bad in outcome.bad:
        _say(f"{bad.where}: " + "; ".join(str(problem) for problem in bad.problems))
    checked = "" if outcome.checked_locally else " (the server checked them: unknown type here)"
    _say(f"done: {outcome.rows} rows, {report.created} tasks created, {report.already_there} "
         f"already there, {len(outcome.bad)} bad rows{checked}")  # fmt: skip
    _print_json(
        {
            "rows": outcome.rows,
            "created": report.created,
            "already_there": report.already_there,
            "chunks": report.chunks,
            "replayed_chunks": report.replayed_chunks,
            "bad": [
                {"line": bad.line, "where": bad.where, "problems": [str(p) for p in bad.problems]}
                for bad in outcome.bad
            ],
        }
    )


# -- results ---------------------------------------------------------------------------------


def _results(args: argparse.Namespace) -> int:
    if args.into is not None:
        if format_of(args.into) not in ("po", "xliff") or not args.into.is_file():
            _say("ruche: --into takes the .po/.xlf/.xliff file that was submitted")
            return EXIT_USAGE
        if args.follow or args.format not in (None, "po", "xliff") or args.output is not None:
            _say("ruche: --into writes once into the file; drop --follow, --format and --output")
            return EXIT_USAGE
        return _run(args, lambda client: _write_into(client, args))
    fmt = args.format or "jsonl"
    if fmt in ("po", "xliff"):
        return _download_catalog(args, fmt)
    if args.output is not None:
        _say("ruche: --output is for po/xliff; redirect stdout for jsonl and csv")
        return EXIT_USAGE
    cursor = [args.after]

    def stream(client: RucheClient) -> int:
        from producers.result_feed import print_results

        def remember(value: str) -> None:
            cursor[0] = value

        print_results(client, args.project, sys.stdout, fmt=fmt, after=args.after,
                      follow=args.follow, poll_interval=args.poll_interval,
                      on_cursor=remember)  # fmt: skip
        _say(f"next cursor: {cursor[0]} (pass it as --after to read only newer results)")
        return EXIT_OK

    try:
        return _run(args, stream)
    except KeyboardInterrupt:
        _say(f"stopped; resume with --after {cursor[0]}")
        return EXIT_OK


def _write_into(client: RucheClient, args: argparse.Namespace) -> int:
    from producers.result_feed import write_into

    try:
        written = write_into(client, args.project, args.into, target_lang=args.target_lang,
                             review_below=args.review_below, after=args.after)  # fmt: skip
    except ValueError as error:
        _say(f"ruche: {error}")
        return EXIT_USAGE
    report = written.report
    _say(
        f"{args.into.name}: {report.translated} translated, {report.needs_review} marked for "
        f"review, {report.waiting} still waiting, {report.rejected} rejected by a reviewer"
    )
    _print_json(
        {
            "translated": report.translated,
            "needs_review": report.needs_review,
            "waiting": report.waiting,
            "rejected": report.rejected,
            "results": written.results,
            "cursor": written.cursor,
        }
    )
    return EXIT_OK


def _download_catalog(args: argparse.Namespace, fmt: str) -> int:
    if args.follow:
        _say("ruche: a PO/XLIFF file is written whole; --follow is for jsonl and csv")
        return EXIT_USAGE
    if args.output is not None and not args.output.parent.is_dir():
        _say(f"ruche: no such directory: {args.output.parent}")
        return EXIT_USAGE
    if args.output is not None and args.output.is_dir():
        _say(f"ruche: --output names a file, not the directory {args.output}")
        return EXIT_USAGE
    try:
        return _run(args, lambda client: _write_catalog(client, args, fmt))
    except KeyboardInterrupt:
        _say("ruche: interrupted; nothing was written")
        return EXIT_INTERRUPTED


def _write_catalog(client: RucheClient, args: argparse.Namespace, fmt: str) -> int:
    from producers.downloads import print_whole, save_whole
    from producers.result_feed import catalog_download
    from producers.validation import ItemValidator

    task_type = client.get_project(args.project).task_type
    if fmt not in ItemValidator(task_type).catalog_formats:
        _say(f"ruche: this project's task type ({task_type}) does not export {fmt} files")
        return EXIT_USAGE
    download = catalog_download(
        client, args.project, fmt, review_below=args.review_below, after=args.after
    )
    if args.output is None:
        where, size = "stdout", print_whole(download.chunks, sys.stdout.buffer)
    else:
        where, size = str(args.output), save_whole(download.chunks, args.output)
    if download.cursor is None:
        _say(f"{where}: {size} bytes, the server's {fmt} export of every result so far")
    else:
        _say(f"{where}: {size} bytes, built from the results and their tasks")
        _say(f"next cursor: {download.cursor}")
    return EXIT_OK


# -- invite ----------------------------------------------------------------------------------


def _invite(args: argparse.Namespace) -> int:
    def invitations(client: RucheClient) -> int:
        if args.revoke:
            client.request("DELETE", f"/v1/invitations/{quote(args.revoke, safe='')}")
            _say(f"ruche: invitation {args.revoke} revoked")
        elif args.list:
            _print_json(client.request("GET", "/v1/invitations").json()["items"])
        else:
            body: dict[str, object] = {"uses": args.uses, "expires_in_days": args.days}
            if args.project:
                body["project_id"] = args.project
            _print_json(client.request("POST", "/v1/invitations", json_body=body).json())
        return EXIT_OK

    return _run(args, invitations)
