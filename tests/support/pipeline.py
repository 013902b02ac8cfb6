"""Building pipeline scenarios on a real board: projects of each built-in type, answered tasks,
the events they left, and snapshots of the whole store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from core.board.runner import BoardPolicy, Claimed, NewTask
from core.ids import new_volunteer_id
from tests.support.board import TestBoard
from tests.support.snapshots import store_contents
from tests.support.streams import entries

Answer = dict[str, Any]
Actor = dramatiq.Actor[..., None]

#: Per built-in type: a payload, answers that agree, answers that do not.
SAMPLES: dict[str, tuple[dict[str, Any], list[Answer], list[Answer]]] = {
    "moderation": (
        {"content": "BUY CHEAP PILLS NOW", "labels": ["ok", "spam"]},
        [{"label": "spam"}, {"label": "Spam"}, {"label": "spam"}],
        [{"label": "spam"}, {"label": "ok"}, {"label": "spam"}],
    ),
    "translation": (
        {
            "source_text": "Merci de vérifier vos réponses avant de les envoyer.",
            "source_lang": "fr",
            "target_lang": "en",
        },
        [
            {"text": "Please check your answers before sending them."},
            {"text": "Please check your answers before you send them."},
            {"text": "Please check your answers before sending them!"},
        ],
        [
            {"text": "Please check your answers before sending them."},
            {"text": "The weather is lovely in the mountains today."},
            {"text": "My cat sleeps all afternoon on the sofa."},
        ],
    ),
    "data_entry": (
        {
            "document": {"text": "Donor: Ada Lovelace, 12 Main St"},
            "fields": [{"name": "name", "type": "string", "required": True}],
        },
        [
            {"values": {"name": "Ada Lovelace"}},
            {"values": {"name": "ada  lovelace"}},
            {"values": {"name": "Ada Lovelace"}},
        ],
        [
            {"values": {"name": "Ada Lovelace"}},
            {"values": {"name": "Grace Hopper"}},
            {"values": {"name": "Katherine Johnson"}},
        ],
    ),
}
TYPES = sorted(SAMPLES)


def make_project(
    board: TestBoard,
    task_type: str,
    *,
    redundancy: int = 3,
    max_redundancy: int | None = None,
    agreement: float | None = None,
    spot_check_rate: float = 0.0,
) -> str:
    document = {
        "name": f"{task_type} project",
        "task_type": task_type,
        "redundancy": redundancy,
        "max_redundancy": max_redundancy,
        "review": {"agreement": agreement, "spot_check_rate": spot_check_rate},
        "instructions": "Do your best.",
    }
    return board.create_project(BoardPolicy(redundancy=redundancy), document=document)


def add_task(board: TestBoard, project_id: str, payload: Mapping[str, Any]) -> str:
    [created] = board.create_tasks(project_id, [NewTask(payload, external_id="ext-1")])
    return created.task_id


@dataclass(frozen=True)
class Submission:
    volunteer_id: str
    submission_id: str
    event_id: str
    fields: dict[str, str]


def answer(
    board: TestBoard,
    project_id: str,
    answers: Sequence[Answer],
    *,
    seconds_spent: float = 90.0,
    volunteers: Sequence[str] | None = None,
) -> list[Submission]:
    """New volunteers claim the project's task and submit ``answers``, one each."""
    done = []
    for index, raw in enumerate(answers):
        volunteer = volunteers[index] if volunteers else new_volunteer_id()
        lease = board.claim(project_id, volunteer)
        assert isinstance(lease, Claimed), lease
        submitted = board.submit(lease.assignment_id, volunteer, raw, seconds_spent=seconds_spent)
        event_id, fields = last_event(board, project_id, "answer.submitted")
        assert fields["submission"] == submitted.submission_id
        done.append(Submission(volunteer, submitted.submission_id, event_id, fields))
    return done


def _json_field(board: TestBoard, key: str, name: str) -> dict[str, Any]:
    raw = board.client.hget(key, name)
    assert raw is not None, f"no {name} in {key}"
    found: dict[str, Any] = json.loads(raw)
    return found


def task_record(board: TestBoard, project_id: str, task_id: str) -> dict[str, Any]:
    """A task's stored record (its JSON in the project's tasks hash)."""
    return _json_field(board, board.keys.project(project_id).tasks, task_id)


def project_document(board: TestBoard, project_id: str) -> dict[str, Any]:
    """The project document as stored (field ``doc`` of the project hash)."""
    return _json_field(board, board.keys.project(project_id).project, "doc")


def events(
    board: TestBoard, project_id: str, kind: str | None = None
) -> list[tuple[str, dict[str, str]]]:
    found = entries(board.client, board.keys.project(project_id).events)
    return [(eid, f) for eid, f in found if kind is None or f.get("type") == kind]


def last_event(board: TestBoard, project_id: str, kind: str) -> tuple[str, dict[str, str]]:
    return events(board, project_id, kind)[-1]


def results(board: TestBoard, project_id: str) -> list[dict[str, str]]:
    return [f for _, f in entries(board.client, board.keys.project(project_id).results)]


def snapshot(raw: redis.Redis) -> dict[bytes, Any]:
    """Every key but the broker's, with its content (``store_contents``): the whole store."""
    return store_contents(raw, lambda key: b"dramatiq" not in key)


def actor(broker: RedisBroker, name: str) -> Actor:
    """The actor of that name, as bound to ``broker``."""
    found: Actor = broker.get_actor(name)
    return found


@contextmanager
def running_worker(broker: RedisBroker, threads: int = 4) -> Iterator[dramatiq.Worker]:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=50)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def drain(broker: RedisBroker, worker: dramatiq.Worker, queues: Sequence[str]) -> None:
    """Wait until the queues are empty and the worker idle (messages sent meanwhile included)."""
    for _ in range(3):
        for queue in queues:
            broker.join(queue, timeout=30_000)
        worker.join()


def call_concurrently(fn: Callable[[], object], times: int) -> None:
    """Run ``fn`` from ``times`` threads released at once; re-raise the first failure."""
    import threading

    barrier = threading.Barrier(times)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            fn()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
