"""``/ngo/projects/{project_id}/data``: a project's data in and out.

In: a file of tasks (CSV, JSONL, PO or XLIFF) uploaded by a manager or owner, read and
written as :mod:`web.ngo.uploads` says (the parsing of ``ruche submit``, the bulk path of the
API with its rate and quota; bad rows reported by line; uploading the same file again adds
nothing twice). Without JavaScript the form posts and the answer is the upload's report; with
it, ``65-ngo-data.js`` posts the same form and shows the line reached meanwhile (polled from
``…/data/uploads/{upload_id}``), then shows the report. The file is bounded by
``RUCHE_NGO_UPLOAD_MAX_BYTES`` (a larger one: 413 and a message). Each upload is recorded in
the project's audit stream (``tasks.uploaded``: who, the format, the counts).

Out: the results as CSV (:mod:`core.delivery.result_table`: one column per answer field, the
source text of a translation, confidence to 3 places), as JSON lines or, for a translation
project, PO or XLIFF (the API's export, :mod:`core.delivery.export`). CSV and JSON lines are
streamed page by page; a catalog is one document, built whole as the API builds it.

Who downloads: reviewers and above, not viewers. Results are what volunteers typed: names,
amounts and addresses read off documents, texts to translate. The viewer role is for people
who follow how a project goes (progress, charts, counts), and the console shows them no
answer; a reviewer already reads answers one by one. Each download is recorded in the audit
stream too (``results.downloaded``), as access to personal data is.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any, cast

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import UploadFile

from api.interactive import PeopleFirst
from core.accounts.staff import Role
from core.delivery.export import (
    CATALOG_REVIEW_BELOW,
    EXPORT_FORMATS,
    catalog_entries,
    catalog_formats,
    export_lines,
)
from core.delivery.result_table import result_table
from core.errors import NotFound
from core.projects.models import Project
from core.ratelimit import RateLimits
from core.settings import Settings
from producers.file_submission import FileOptions, SubmitFileError
from producers.formats import FILE_FORMATS, format_of
from task_types.catalog_export import build_catalog
from web.i18n import N_
from web.ngo.guard import StaffVisit, project_visit
from web.ngo.uploads import UPLOAD_ID, Stop, UploadReport, Writer, read_progress, upload_rows
from web.ngo.views import Formats
from web.pages import SECURITY_HEADERS, render
from web.routing import WebRoute

__all__ = ["DOWNLOAD_ROLE", "UPLOAD_ROLE", "router"]

router = APIRouter(route_class=WebRoute)

UPLOAD_ROLE = Role.MANAGER
DOWNLOAD_ROLE = Role.REVIEWER
# What a multipart form adds around the file (boundaries, headers, the few small fields).
FORM_ROOM_BYTES = 64 * 1024
_LANGUAGE_CHARS = 35

FILE_ERRORS: dict[str, str] = {
    "missing": N_("Choose a file to upload."),
    "too_big": N_(
        "This file is larger than %(size)s, the most the console takes at once. Split it, or "
        "send it with the ruche submit command."
    ),
    "unknown_format": N_(
        "Choose the file's format: its name does not end in .csv, .jsonl, .po or .xliff."
    ),
    "unreadable": N_("This file cannot be read as %(format)s."),
    "no_source_lang": N_("The file does not name its source language: choose it below."),
    "no_target_lang": N_("The file does not name its target language: choose it below."),
    "bad_header": N_("The header row (line 1) of this file does not fit this project: %(detail)s"),
    "not_catalog_type": N_(
        "PO and XLIFF files make translation tasks; this project's task type does not take them."
    ),
}
STOPS: dict[str, str] = {
    Stop.RATE: N_(
        "Your organisation sent many tasks in a short time: the upload stopped at line "
        "%(line)s. Upload the same file again in a few minutes to add the rest; nothing is "
        "added twice."
    ),
    Stop.QUOTA: N_(
        "Your organisation's storage quota is full: the upload stopped at line %(line)s. "
        "Delete tasks, or ask the operator for a larger quota."
    ),
    Stop.BUSY: N_(
        "Another upload of your organisation was being written: this one stopped at line "
        "%(line)s. Upload the same file again when it is done; nothing is added twice."
    ),
    Stop.FULL: N_(
        "The server's storage is full: the upload stopped at line %(line)s. Tell the operator."
    ),
    Stop.CLOSED: N_("This project is closed: it takes no new tasks."),
}
FORMAT_NAMES: dict[str, str] = {
    "csv": "CSV",
    "jsonl": "JSON Lines",
    "po": "PO",
    "xliff": "XLIFF",
}


def _path(project_id: str) -> str:
    return f"/ngo/projects/{project_id}/data"


async def _project(staff: StaffVisit, project_id: str) -> Project:
    return await staff.projects.get(staff.org_id, project_id)


def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def _data_page(
    staff: StaffVisit,
    project: Project,
    *,
    status_code: int = 200,
    error: str | None = None,
    error_args: dict[str, Any] | None = None,
    report: UploadReport | None = None,
    file_name: str = "",
    chosen: dict[str, str] | None = None,
) -> Response:
    locale = staff.page.language.code
    formats = Formats(locale)
    max_bytes = _settings(staff.page.request).ngo_upload_max_bytes
    return render(
        staff.page,
        "ngo/data.html" if report is None else "ngo/upload_report.html",
        status_code=status_code,
        section="projects",
        project=project,
        upload_id=secrets.token_urlsafe(12),
        max_bytes=max_bytes,
        max_size=_size(max_bytes, locale),
        error=error,
        error_args=error_args or {},
        report=report,
        stops=STOPS,
        file_errors=FILE_ERRORS,
        file_name=file_name,
        chosen=chosen or {},
        file_formats=FILE_FORMATS,
        format_names=FORMAT_NAMES,
        catalogs=sorted(catalog_formats(project.task_type)),
        may_upload=staff.role >= UPLOAD_ROLE,
        may_download=staff.role >= DOWNLOAD_ROLE,
        **staff.context(),
        **formats.helpers(),
    )


def _size(size: int, locale: str) -> str:
    from babel.units import format_unit

    if size >= 1024 * 1024:
        return str(format_unit(round(size / (1024 * 1024), 1), "digital-megabyte", locale=locale))
    return str(format_unit(round(size / 1024), "digital-kilobyte", locale=locale))


@router.get("/ngo/projects/{project_id}/data")
async def data_page(project_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id)
    return await _data_page(staff, await _project(staff, project_id))


def _language(value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text[:_LANGUAGE_CHARS] or None


@router.post("/ngo/projects/{project_id}/data/upload")
async def upload(project_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id, needs=UPLOAD_ROLE)
    settings = _settings(request)
    limit = settings.ngo_upload_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_ROOM_BYTES:
        # Refused before a byte of the body is read (the CSRF token is in it: nothing changes).
        return await _too_big(staff, project_id)
    await request.form(max_files=1, max_fields=20, max_part_size=FORM_ROOM_BYTES)
    form = await staff.form()  # the CSRF check, on the form just read
    project = await _project(staff, project_id)
    sent = form.get("file")
    chosen = {
        "format": str(form.get("format") or ""),
        "source_lang": _language(form.get("source_lang")) or "",
        "target_lang": _language(form.get("target_lang")) or "",
    }
    if not isinstance(sent, UploadFile) or not sent.filename:
        return await _data_page(staff, project, status_code=422, error="missing", chosen=chosen)
    file_name = Path(sent.filename).name[:200]
    try:
        data = await sent.read(limit + 1)
    finally:
        await form.close()  # its spooled file
    if len(data) > limit:
        return await _too_big(staff, project_id)
    fmt = chosen["format"] if chosen["format"] in FILE_FORMATS else format_of(Path(file_name))
    if fmt is None:
        return await _data_page(
            staff, project, status_code=422, error="unknown_format", chosen=chosen
        )
    upload_id = str(form.get("upload_id") or "")
    if not UPLOAD_ID.match(upload_id):
        upload_id = secrets.token_urlsafe(12)
    try:
        report = await upload_rows(
            _writer(request),
            org_id=staff.org_id,
            project_id=project_id,
            task_type=project.task_type,
            data=data,
            fmt=fmt,
            name=file_name,
            options=FileOptions(
                fmt=fmt,
                source_lang=_language(form.get("source_lang")),
                target_lang=_language(form.get("target_lang")),
            ),
            upload_id=upload_id,
        )
    except SubmitFileError as refused:
        return await _data_page(
            staff,
            project,
            status_code=422,
            error=refused.reason if refused.reason in FILE_ERRORS else "unreadable",
            error_args={"format": FORMAT_NAMES.get(fmt, fmt), "detail": refused.detail},
            chosen=chosen,
        )
    await staff.audit(
        project_id,
        "tasks.uploaded",
        file=file_name,
        format=fmt,
        rows=str(report.rows),
        created=str(report.created),
        already_there=str(report.already_there),
        bad=str(len(report.bad)),
        stopped=report.stopped or "",
    )
    status = 507 if report.stopped in (Stop.QUOTA, Stop.FULL) and not report.created else 200
    return await _data_page(
        staff, project, status_code=status, report=report, file_name=file_name, chosen=chosen
    )


async def _too_big(staff: StaffVisit, project_id: str) -> Response:
    return await _data_page(
        staff, await _project(staff, project_id), status_code=413, error="too_big"
    )


def _writer(request: Request) -> Writer:
    state = request.app.state
    return Writer(
        board=state.board,
        client=state.redis,
        keys=state.keys,
        settings=state.settings,
        limits=cast(RateLimits, state.limits),
        lanes=cast(asyncio.Semaphore, state.bulk_lanes),
        wait_turn=cast(PeopleFirst, state.people_first).wait_turn,
    )


@router.get("/ngo/projects/{project_id}/data/uploads/{upload_id}")
async def upload_progress(project_id: str, upload_id: str, request: Request) -> Response:
    """How far an upload of this project got: ``{"line": n, "lines": total, "done": 0|1}``."""
    staff, project_id = await project_visit(request, project_id, needs=UPLOAD_ROLE)
    found = (
        await read_progress(staff.client, staff.page.state.keys, project_id, upload_id)
        if UPLOAD_ID.match(upload_id)
        else None
    )
    if found is None:
        raise NotFound("no such upload")
    return JSONResponse(found, headers=SECURITY_HEADERS)


@router.get("/ngo/projects/{project_id}/results/{fmt}")
async def download(project_id: str, fmt: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id, needs=DOWNLOAD_ROLE)
    project = await _project(staff, project_id)
    if fmt not in EXPORT_FORMATS or (
        fmt not in ("csv", "jsonl") and fmt not in catalog_formats(project.task_type)
    ):
        raise NotFound("no such format")
    await staff.audit(project_id, "results.downloaded", format=fmt)
    headers = {
        **SECURITY_HEADERS,  # no-store among them: results may hold personal data
        "Content-Disposition": f'attachment; filename="{project_id}-results.{fmt}"',
    }
    board = staff.board
    if fmt == "csv":
        lines = result_table(board, project_id, project.task_type)
        return StreamingResponse(lines, media_type=EXPORT_FORMATS[fmt], headers=headers)
    if fmt == "jsonl":
        lines = export_lines(board, project_id, fmt)
        return StreamingResponse(lines, media_type=EXPORT_FORMATS[fmt], headers=headers)
    entries = await catalog_entries(board, project_id)
    return Response(
        build_catalog(fmt, entries, CATALOG_REVIEW_BELOW),
        media_type=EXPORT_FORMATS[fmt],
        headers=headers,
    )
