"""A typed Python client for Ruche's HTTP API v1, for NGOs (``shared/API.md``).

::

    from producers import RucheClient

    with RucheClient("https://ruche.example.org", token="rk_org_…") as ruche:
        project = ruche.create_project(NewProject(name="Guide", task_type="translation",
                                                  instructions="Translate into plain English."))
        ruche.submit_tasks(project.id, [{"external_id": "s1", "payload": {…}}])
        for result in ruche.iter_results(project.id, follow=True):
            ...

It talks HTTP only (httpx), never to Redis. Every call retries what can safely be retried (see
:mod:`producers.retry`) and raises :class:`~producers.errors.RucheError` for the rest. Large
submissions go through :func:`producers.bulk.submit_in_chunks`, which sends chunks with
deterministic ``Idempotency-Key`` headers.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from producers.errors import RucheConnectionError, RucheError
from producers.models import (
    FIRST_CURSOR,
    BulkOutcome,
    Delivery,
    NewProject,
    Project,
    Result,
    ResultsPage,
    Task,
    TaskItem,
    TaskTypeInfo,
    Webhook,
    WebhookSecret,
)
from producers.retry import RetryPolicy, parse_retry_after

__all__ = ["ENV_TOKEN", "ENV_URL", "RucheClient", "encode_task", "ndjson"]

ENV_URL = "RUCHE_URL"
ENV_TOKEN = "RUCHE_TOKEN"  # noqa: S105 - the name of a variable, not a token
DEFAULT_TIMEOUT_S = 60.0
RESULTS_PAGE = 500  # results per request while reading a feed (the API allows up to 1000)
# Nothing left the client: repeating the request cannot do anything twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

TaskLike = TaskItem | Mapping[str, Any] | bytes


def _seg(value: str) -> str:
    """An id as one path segment: a stray ``/`` or ``?`` cannot reach another route."""
    return quote(value, safe="")


def _user_agent() -> str:
    try:
        return f"ruche-client/{version('ruche')}"
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "ruche-client"


def encode_task(task: TaskItem | Mapping[str, Any]) -> bytes:
    """One task as a compact JSON line (no newline)."""
    item = task.model_dump(exclude_none=True) if isinstance(task, TaskItem) else task
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()


def ndjson(tasks: Sequence[TaskLike]) -> bytes:
    """The NDJSON body of a batch: one compact JSON object a line (``bytes`` items are lines
    already encoded by :func:`encode_task`)."""
    lines = [task if isinstance(task, bytes) else encode_task(task) for task in tasks]
    return b"\n".join(lines) + b"\n"


class RucheClient:
    """One organisation's (or an operator's) session with a Ruche server."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": _user_agent(), "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    @classmethod
    def from_env(cls, **options: Any) -> RucheClient:
        """A client for ``$RUCHE_URL`` with ``$RUCHE_TOKEN``."""
        url = os.environ.get(ENV_URL)
        if not url:
            raise RucheError(None, "no_url", f"set {ENV_URL} to the Ruche server's address")
        return cls(url, os.environ.get(ENV_TOKEN), **options)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the one place requests are sent and retried ------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send a request, retrying per :attr:`retry`; a non-2xx answer raises RucheError."""
        sent_headers = dict(headers or {})
        if idempotency_key is not None:
            sent_headers["Idempotency-Key"] = idempotency_key
        policy = self.retry
        attempt = 0
        while True:
            last_try = attempt + 1 >= policy.attempts
            try:
                response = self._http.request(
                    method,
                    path,
                    json=json_body,
                    content=content,
                    params=params,
                    headers=sent_headers,
                )
            except httpx.TransportError as failure:
                retryable = isinstance(failure, _NOT_SENT) or policy.replay_safe(
                    method, idempotency_key
                )
                if last_try or not retryable:
                    raise RucheConnectionError(
                        f"{method} {path} failed after {attempt + 1} tries: "
                        f"{type(failure).__name__}: {failure}"
                    ) from failure
                policy.sleep(policy.backoff(attempt))
                attempt += 1
                continue
            if response.is_success:
                return response
            error = RucheError.from_response(
                response.status_code, response.content, response.reason_phrase
            )
            if last_try or not policy.retry_status(response.status_code, error.code):
                raise error
            wait = parse_retry_after(response.headers.get("Retry-After"))
            policy.sleep(policy.backoff(attempt, wait))
            attempt += 1

    def _json(self, method: str, path: str, **options: Any) -> Any:
        return self.request(method, path, **options).json()

    # -- projects ------------------------------------------------------------------------------

    def create_project(self, project: NewProject) -> Project:
        body = project.model_dump(mode="json", exclude_none=True)
        return Project.model_validate(self._json("POST", "/v1/projects", json_body=body))

    def list_projects(self) -> list[Project]:
        items = self._json("GET", "/v1/projects")["items"]
        return [Project.model_validate(item) for item in items]

    def get_project(self, project_id: str) -> Project:
        return Project.model_validate(self._json("GET", f"/v1/projects/{_seg(project_id)}"))

    def delete_project(self, project_id: str) -> dict[str, Any]:
        """Delete the project and everything under it (202: finished in the background)."""
        return dict(self._json("DELETE", f"/v1/projects/{_seg(project_id)}"))

    def delete_task(self, project_id: str, task_id: str) -> dict[str, Any]:
        """Delete one task: its payload, answers and result."""
        path = f"/v1/projects/{_seg(project_id)}/tasks/{_seg(task_id)}"
        return dict(self._json("DELETE", path))

    def update_project(self, project_id: str, **changes: Any) -> Project:
        """PATCH only the fields given (``state="paused"``, ``redundancy=5``, …)."""
        body = json.loads(json.dumps(changes, default=str))
        return Project.model_validate(
            self._json("PATCH", f"/v1/projects/{_seg(project_id)}", json_body=body)
        )

    def pause_project(self, project_id: str) -> Project:
        return self.update_project(project_id, state="paused")

    def resume_project(self, project_id: str) -> Project:
        return self.update_project(project_id, state="active")

    def task_types(self) -> list[TaskTypeInfo]:
        return [TaskTypeInfo.model_validate(t) for t in self._json("GET", "/v1/task-types")]

    # -- tasks ---------------------------------------------------------------------------------

    def submit_tasks(
        self,
        project_id: str,
        tasks: Sequence[TaskLike],
        *,
        idempotency_key: str | None = None,
    ) -> BulkOutcome:
        """One bulk request (at most 10,000 tasks), sent as NDJSON.

        With an ``idempotency_key`` a retry (ours, or a re-run of the whole program) gets the
        first answer back instead of doing the work again; ``replayed`` says so.
        """
        return self.submit_ndjson(project_id, ndjson(tasks), idempotency_key=idempotency_key)

    def submit_ndjson(
        self, project_id: str, body: bytes, *, idempotency_key: str | None = None
    ) -> BulkOutcome:
        """:meth:`submit_tasks` for a body already encoded as NDJSON."""
        response = self.request(
            "POST",
            f"/v1/projects/{_seg(project_id)}/tasks",
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
            idempotency_key=idempotency_key,
        )
        outcome = BulkOutcome.model_validate(response.json())
        if response.headers.get("Idempotent-Replayed") == "true":
            outcome = outcome.model_copy(update={"replayed": True})
        return outcome

    def get_task(self, project_id: str, task_id: str) -> Task:
        return Task.model_validate(
            self._json("GET", f"/v1/projects/{_seg(project_id)}/tasks/{_seg(task_id)}")
        )

    # -- results -------------------------------------------------------------------------------

    def results(
        self, project_id: str, after: str = FIRST_CURSOR, limit: int = RESULTS_PAGE
    ) -> ResultsPage:
        """One page of results published after cursor ``after``, oldest first."""
        body = self._json(
            "GET",
            f"/v1/projects/{_seg(project_id)}/results",
            params={"after": after, "limit": limit},
        )
        return ResultsPage.model_validate(body)

    def iter_result_pages(
        self,
        project_id: str,
        after: str = FIRST_CURSOR,
        *,
        follow: bool = False,
        poll_interval: float = 2.0,
        limit: int = RESULTS_PAGE,
    ) -> Iterator[ResultsPage]:
        """Every page from ``after`` on, the last (possibly empty) one included: its ``next`` is
        where to resume. With ``follow`` it never ends: once caught up it polls every
        ``poll_interval`` seconds, yielding each page (empty ones too, so a caller can save
        the cursor or stop)."""
        cursor = after
        while True:
            page = self.results(project_id, cursor, limit)
            yield page
            cursor = page.next
            if len(page.items) < limit:
                if not follow:
                    return
                time.sleep(poll_interval)

    def iter_results(
        self,
        project_id: str,
        after: str = FIRST_CURSOR,
        *,
        follow: bool = False,
        poll_interval: float = 2.0,
    ) -> Iterator[Result]:
        """Results one by one (see :meth:`iter_result_pages` for the cursor)."""
        for page in self.iter_result_pages(
            project_id, after, follow=follow, poll_interval=poll_interval
        ):
            yield from page.items

    def iter_export(self, project_id: str, fmt: str = "jsonl") -> Iterator[bytes]:
        """The whole export, streamed in chunks of bytes as they arrive: ``jsonl`` or ``csv``,
        and for a translation project ``po`` or ``xliff`` (the server builds those files).

        Only the request is retried, and a failure before the first byte: once bytes have
        arrived, a failure raises :class:`RucheConnectionError` (starting the export again is
        the caller's choice; :func:`producers.downloads.save_whole` never leaves half a file).
        """
        path = f"/v1/projects/{_seg(project_id)}/export"
        attempt = 0
        while True:
            received = 0
            wait: float | None = None
            try:
                with self._http.stream("GET", path, params={"format": fmt}) as response:
                    if response.is_success:
                        for chunk in response.iter_bytes():
                            received += len(chunk)
                            yield chunk
                        return
                    error = RucheError.from_response(
                        response.status_code, response.read(), response.reason_phrase
                    )
                    last_try = attempt + 1 >= self.retry.attempts
                    if last_try or not self.retry.retry_status(response.status_code, error.code):
                        raise error
                    wait = parse_retry_after(response.headers.get("Retry-After"))
            except httpx.TransportError as failure:
                if received or attempt + 1 >= self.retry.attempts:
                    raise RucheConnectionError(
                        f"GET {path} failed after {attempt + 1} tries, {received} bytes "
                        f"received: {type(failure).__name__}: {failure}"
                    ) from failure
            self.retry.sleep(self.retry.backoff(attempt, wait))
            attempt += 1

    # -- webhook -------------------------------------------------------------------------------

    def set_webhook(self, url: str) -> WebhookSecret:
        """Deliver results to ``url``; the returned secret (shown once) signs every delivery
        (check it with :func:`producers.webhooks.verify`)."""
        return WebhookSecret.model_validate(
            self._json("PUT", "/v1/webhook", json_body={"url": url})
        )

    def get_webhook(self) -> Webhook:
        return Webhook.model_validate(self._json("GET", "/v1/webhook"))

    def delete_webhook(self) -> None:
        self.request("DELETE", "/v1/webhook")

    def deliveries(self, limit: int = 50) -> list[Delivery]:
        items = self._json("GET", "/v1/webhook/deliveries", params={"limit": limit})["items"]
        return [Delivery.model_validate(item) for item in items]

    def redeliver(self, delivery_id: str) -> Delivery:
        return Delivery.model_validate(
            self._json("POST", f"/v1/webhook/deliveries/{_seg(delivery_id)}/redeliver")
        )
