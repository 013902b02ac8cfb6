"""One task's page under its lease (``/work/a/{assignment_id}``), per task type: what the
payload shows, the answer form (:mod:`web.work.forms`), the countdown and heartbeat settings the
page's script reads (web/static/js/20-work.js), a practice item's or a reopened task's notice,
and, for a data-entry document's image, its origin added to that page's ``img-src``."""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import Response

from core.board.claims import Assignment, Claims
from web.i18n import is_rtl, language_name
from web.pages import CONTENT_SECURITY_POLICY, render
from web.visit import Visit
from web.work.forms import AnswerForm, data_fields
from web.work.offers import project_facts
from web.work.translation_checks import Check
from web.work.workbench import workbench

__all__ = ["task_page"]

#: How often the page's script renews the lease while the page is visible: a third of the lease,
#: within these bounds (seconds).
HEARTBEAT_BOUNDS = (10, 120)
_HOST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]"


def _image_origin(payload: dict[str, Any]) -> str | None:
    """The origin of a data-entry document's image, for the page's img-src (only a plain
    scheme://host[:port], so nothing else can reach the policy)."""
    document = payload.get("document")
    url = document.get("image_url") if isinstance(document, dict) else None
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("http", "https") or not host or set(host) - set(_HOST):
        return None
    return f"{parts.scheme}://{host}"


def _translation_view(payload: dict[str, Any], ui: str) -> dict[str, Any]:
    source, target = str(payload.get("source_lang", "")), str(payload.get("target_lang", ""))
    return {
        "source_lang": source,
        "target_lang": target,
        "source_dir": "rtl" if is_rtl(source) else "ltr",
        "target_dir": "rtl" if is_rtl(target) else "ltr",
        "source_name": language_name(source, ui),
        "target_name": language_name(target, ui),
    }


async def task_page(
    claims: Claims,
    page: Visit,
    assignment: Assignment,
    form: AnswerForm,
    *,
    status_code: int = 200,
    expired: bool = False,
    shown_at: int | None = None,
    checks: list[Check] | None = None,
) -> Response:
    """The page; ``checks``: the translation checks that held a submit back (shown as an
    alert, with "Submit anyway")."""
    document = await claims.catalogue.document(assignment.project_id)
    facts = await project_facts(page, assignment.project_id, document)
    practice = assignment.gold and await claims.qualifying(page.person.id, assignment.project_id)
    now = int(time.time() * 1000)
    lease_seconds = facts.lease_seconds or 600
    beat = min(max(lease_seconds // 3, HEARTBEAT_BOUNDS[0]), HEARTBEAT_BOUNDS[1])
    payload = assignment.payload
    wb = (
        await workbench(
            page.state.sessions.client,
            page.state.keys,
            assignment.project_id,
            payload,
            task_id=assignment.task_id,
            # A confidential project turns its memory off: then no other task's text is shown.
            use_memory=document.get("translation_memory") is not False,
        )
        if assignment.task_type == "translation"
        else None
    )
    response = render(
        page,
        "work/task.html",
        status_code=status_code,
        assignment=assignment,
        facts=facts,
        payload=payload,
        form=form,
        expired=expired,
        practice=practice,
        reopened=None if expired else await claims.reopened(assignment),
        now_ms=now,
        shown_at=shown_at or now,
        minutes_left=max(0, math.ceil((assignment.expires_at_ms - now) / 60_000)),
        heartbeat_ms=beat * 1000,
        wb=wb,
        checks=checks or [],
        checks_submitted=bool(checks),
        translation=_translation_view(payload, page.language.code)
        if assignment.task_type == "translation"
        else None,
        data_fields=data_fields(payload) if assignment.task_type == "data_entry" else [],
        labels=[str(label) for label in payload.get("labels") or []]
        if assignment.task_type == "moderation"
        else [],
    )
    origin = _image_origin(payload) if assignment.task_type == "data_entry" else None
    if origin is not None:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data:", f"img-src 'self' data: {origin}"
        )
    return response
