"""``ruche up --demo``: seed a demo NGO, its people and three projects through the API itself.

Once the API answers, the supervisor calls :func:`run_demo` with this run's operator token.
Everything is created over HTTP, exactly as an operator, an NGO and volunteers would:

- the NGO "Les Amis du Quartier" (``POST /v1/orgs``), with its API key;
- three volunteers and a reviewer (``POST /v1/volunteers``, charter accepted);
- three projects with content written for the demo (:mod:`ruche.demo_content`): a French guide
  to online volunteering to translate into English, fictitious donation slips to type in, and
  neighbourhood forum posts to moderate; the reviewer gets review rights on all three.

Tokens are shown once by the API and stored only as hashes, so the demo keeps what it was given in
``$RUCHE_DATA_DIR/demo-tokens.json`` (mode 0600; for the demo only: never do this with real
tokens) and prints them on every ``ruche up --demo``. Running it again on the same data reuses
everything: the saved tokens are checked against the API (``GET /v1/org``, ``GET /v1/me``),
projects are found by name, tasks carry stable ``external_id`` values and go out under an
``Idempotency-Key`` derived from their content, and reviewer grants are idempotent. If the data
is gone (a fresh Redis), the stale tokens are refused and a fresh demo is seeded. If only the
file is lost, the demo organisation cannot be recovered (its key is unknown): a second one is
created.

``--demo-answers`` also has the three volunteers answer about half of each project's tasks, with
a few slips, and a few forum posts they split on three ways (one label each): those reach the
reviewer once the workers process them, so the demo reviewer has work to practise on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ruche.demo_content import DemoProject, demo_projects

__all__ = ["DemoError", "DemoState", "answer_some", "banner_lines", "run_demo", "seed"]

STATE_FILE = "demo-tokens.json"
ORG_NAME = "Les Amis du Quartier"
ORG_EMAIL = "contact@amis-du-quartier.example.org"
IDEMPOTENCY_KEY = "ruche-demo-{key}-{digest}"  # the digest of the body: new content, new key
TIMEOUT_SECONDS = 30.0
WARNING = (
    "Ruche demo only: these tokens are kept in clear so that `ruche up --demo` can show them "
    "again. Never keep real tokens like this."
)


@dataclass(frozen=True)
class PersonSpec:
    key: str
    display_name: str
    languages: tuple[str, ...]
    reviewer: bool = False


PEOPLE = (
    PersonSpec("camille", "Camille", ("fr", "en")),
    PersonSpec("sam", "Sam", ("en", "fr")),
    PersonSpec("ines", "Inès", ("fr", "en", "ar")),
    PersonSpec("mathilde", "Mathilde", ("fr", "en"), reviewer=True),
)


class DemoError(Exception):
    """The API refused a seeding step (the message names the step and the status, no token)."""


@dataclass
class Person:
    id: str
    token: str
    display_name: str
    reviewer: bool = False


@dataclass
class ProjectRef:
    id: str
    name: str
    task_type: str
    tasks: int


@dataclass
class DemoState:
    org_id: str
    org_name: str
    api_key: str
    people: dict[str, Person] = field(default_factory=dict)
    projects: dict[str, ProjectRef] = field(default_factory=dict)

    @property
    def volunteers(self) -> list[Person]:
        return [p for p in self.people.values() if not p.reviewer]

    @property
    def reviewer(self) -> Person:
        return next(p for p in self.people.values() if p.reviewer)

    def to_json(self) -> dict[str, Any]:
        return {"warning": WARNING, **asdict(self)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DemoState:
        return cls(
            org_id=str(raw["org_id"]),
            org_name=str(raw["org_name"]),
            api_key=str(raw["api_key"]),
            people={k: Person(**v) for k, v in raw.get("people", {}).items()},
            projects={k: ProjectRef(**v) for k, v in raw.get("projects", {}).items()},
        )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _call(
    client: httpx.AsyncClient,
    step: str,
    method: str,
    url: str,
    token: str | None = None,
    *,
    expect: tuple[int, ...] = (200, 201),
    **kwargs: Any,
) -> httpx.Response:
    headers = {**kwargs.pop("headers", {}), **(_bearer(token) if token else {})}
    response = await client.request(method, url, headers=headers, **kwargs)
    if response.status_code not in expect:
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = "?"
        raise DemoError(f"{step}: {method} {url} answered {response.status_code} ({code})")
    return response


# -- seeding -----------------------------------------------------------------------------------


async def _org(
    client: httpx.AsyncClient, admin_token: str, previous: DemoState | None
) -> DemoState:
    if previous is not None:
        check = await _call(client, "org", "GET", "/v1/org", previous.api_key, expect=(200, 401))
        if check.status_code == 200 and check.json()["id"] == previous.org_id:
            return DemoState(previous.org_id, previous.org_name, previous.api_key)
    created = await _call(
        client, "create the NGO", "POST", "/v1/orgs", admin_token,
        json={"name": ORG_NAME, "contact_email": ORG_EMAIL},
    )  # fmt: skip
    body = created.json()
    return DemoState(body["id"], body["name"], body["api_key"])


async def _person(client: httpx.AsyncClient, spec: PersonSpec, previous: Person | None) -> Person:
    if previous is not None:
        check = await _call(client, "volunteer", "GET", "/v1/me", previous.token, expect=(200, 401))
        if check.status_code == 200 and check.json()["id"] == previous.id:
            return previous
    created = await _call(
        client, f"sign up {spec.key}", "POST", "/v1/volunteers",
        json={"display_name": spec.display_name, "languages": list(spec.languages)},
    )  # fmt: skip
    body = created.json()
    await _call(
        client, "accept the charter", "POST", "/v1/me/charter", body["token"],
        json={"accept": True},
    )  # fmt: skip
    return Person(body["id"], body["token"], spec.display_name, spec.reviewer)


async def _project(
    client: httpx.AsyncClient, state: DemoState, project: DemoProject, existing: dict[str, Any]
) -> ProjectRef:
    found = existing.get(project.name)
    if found is None:
        created = await _call(
            client, f"create {project.key}", "POST", "/v1/projects", state.api_key,
            json=project.spec,
        )  # fmt: skip
        found = created.json()
    if found["state"] != "closed":
        body = json.dumps({"tasks": project.tasks}, ensure_ascii=False).encode()
        digest = hashlib.sha256(body).hexdigest()[:16]
        submitted = await _call(
            client, f"tasks of {project.key}", "POST", f"/v1/projects/{found['id']}/tasks",
            state.api_key, content=body,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": IDEMPOTENCY_KEY.format(key=project.key, digest=digest),
            },
        )  # fmt: skip
        rejected = submitted.json()["rejected"]
        if rejected:  # the demo's own content must fit its task type
            raise DemoError(f"tasks of {project.key}: {len(rejected)} rejected: {rejected[:3]}")
    for person in state.people.values():
        if person.reviewer:
            await _call(
                client, "grant review rights", "POST", f"/v1/projects/{found['id']}/reviewers",
                state.api_key, json={"volunteer_id": person.id},
            )  # fmt: skip
    return ProjectRef(found["id"], project.name, project.spec["task_type"], len(project.tasks))


async def seed(
    client: httpx.AsyncClient, admin_token: str, previous: DemoState | None = None
) -> DemoState:
    """Create (or find again) the demo's NGO, people and projects; safe to run any number of
    times against the same data (see the module docstring)."""
    state = await _org(client, admin_token, previous)
    fresh_org = previous is None or state.org_id != previous.org_id
    for spec in PEOPLE:
        before = None if previous is None or fresh_org else previous.people.get(spec.key)
        state.people[spec.key] = await _person(client, spec, before)
    listed = await _call(client, "list projects", "GET", "/v1/projects", state.api_key)
    existing = {item["name"]: item for item in listed.json()["items"]}
    for project in demo_projects():
        state.projects[project.key] = await _project(client, state, project, existing)
    return state


# -- simulated answers (--demo-answers) ----------------------------------------------------------


def _fingerprint(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False)


#: Every this-many-th moderation post the simulated volunteers answer, they split on: each of
#: the three picks another label, so the post has no majority at its ceiling of three answers and
#: goes to the reviewer (something to practise on).
SPLIT_EVERY = 3


def _answer(
    project: DemoProject, right: dict[str, Any], volunteer: int, task_number: int
) -> dict[str, Any]:
    """A volunteer's answer: mostly right, with a few deliberate slips."""
    slip = (volunteer + task_number) % 7 == 0
    return project.slip(right) if slip else right


def _split(payload: dict[str, Any], right: dict[str, Any], turn: int) -> dict[str, Any]:
    """The ``turn``-th answer (0, 1, 2) to a post the volunteers split on: a label per turn."""
    labels = list(payload["labels"])
    return {"label": labels[(labels.index(right["label"]) + turn) % len(labels)]}


async def answer_some(client: httpx.AsyncClient, state: DemoState, share: float = 0.5) -> int:
    """Have the volunteers answer ``share`` of each project's tasks; returns answers submitted.
    Projects that already have that many tasks answered are left alone."""
    submitted = 0
    for project in demo_projects():
        ref = state.projects[project.key]
        path = f"/v1/projects/{ref.id}"
        counts = (await _call(client, "progress", "GET", path, state.api_key)).json()["counts"]
        done = sum(n for name, n in counts.items() if name not in ("open", "collecting"))
        wanted = math.ceil(len(project.tasks) * share) - done
        by_payload = {
            _fingerprint(task["payload"]): project.expected[task["external_id"]]
            for task in project.tasks
        }
        redundancy = int(project.spec["redundancy"])
        turns: dict[str, int] = {}  # per task answered in this run: answers given so far
        for number in range(max(0, wanted) * redundancy):
            index = number % len(state.volunteers)
            person = state.volunteers[index]
            claimed = await _call(
                client, "claim", "POST", "/v1/assignments", person.token,
                json={"project_id": ref.id}, expect=(201, 204),
            )  # fmt: skip
            if claimed.status_code == 204:
                continue
            assignment = claimed.json()
            payload = assignment["task"]["payload"]
            right = by_payload[_fingerprint(payload)]
            seen = _fingerprint(payload)
            turn = turns.get(seen, 0)
            turns[seen] = turn + 1
            if project.key == "moderation" and list(turns).index(seen) % SPLIT_EVERY == 1:
                answer = _split(payload, right, turn)
            else:
                answer = _answer(project, right, index, number // redundancy)
            await _call(
                client, "submit", "POST", f"/v1/assignments/{assignment['id']}/submit",
                person.token, expect=(202,),
                json={"answer": answer, "seconds_spent": 30 + 7 * (number % 11)},
            )  # fmt: skip
            submitted += 1
    return submitted


# -- the state file and the banner ---------------------------------------------------------------


def load_state(data_dir: Path) -> DemoState | None:
    path = data_dir / STATE_FILE
    try:
        return DemoState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: seed afresh


def save_state(data_dir: Path, state: DemoState) -> Path:
    """Write the state file readable by its owner only (written aside, then renamed)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / STATE_FILE
    partial = path.with_suffix(".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
        json.dump(state.to_json(), sink, ensure_ascii=False, indent=2)
    os.chmod(partial, 0o600)
    os.replace(partial, path)
    return path


async def _run(base_url: str, admin_token: str, data_dir: Path, answers: bool) -> DemoState:
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT_SECONDS) as client:
        state = await seed(client, admin_token, load_state(data_dir))
        save_state(data_dir, state)
        if answers:
            await answer_some(client, state)
    return state


def run_demo(
    base_url: str, admin_token: str, data_dir: Path, *, answers: bool = False
) -> DemoState:
    """Seed the demo against the API at ``base_url`` and save its tokens in ``data_dir``."""
    # httpx logs every request at INFO: a hundred lines just before the banner. The API's own
    # access log already has them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(_run(base_url, admin_token, data_dir, answers))


def banner_lines(state: DemoState, base_url: str, data_dir: Path) -> list[str]:
    """What ``ruche up --demo`` prints: the tokens, the projects and a few commands to try."""
    org = state.api_key
    first = state.volunteers[0]
    translation = state.projects["translation"]
    lines = [
        f"Demo: {state.org_name} (tokens saved in {data_dir / STATE_FILE}: demo only)",
        f"  NGO key          {org}",
    ]
    for person in state.volunteers:
        lines.append(f"  Volunteer        {person.token}  {person.display_name}")
    lines.append(
        f"  Reviewer         {state.reviewer.token}  {state.reviewer.display_name}"
        ", reviewer of every project"
    )
    for ref in state.projects.values():
        what = f"{ref.name} ({ref.task_type}, {ref.tasks} tasks)"
        lines.append(f"  Project          {ref.id}  {what}")
    lines += [
        "  Try:",
        f"    export RUCHE={base_url} NGO={org} VOL={first.token}",
        '    curl -s -X POST $RUCHE/v1/assignments -H "Authorization: Bearer $VOL" '
        "-H 'Content-Type: application/json' -d '{\"task_types\": [\"translation\"]}'",
        '    curl -s -X POST $RUCHE/v1/assignments/<assignment id>/submit -H "Authorization: '
        'Bearer $VOL" -H \'Content-Type: application/json\' -d \'{"answer": {"text": "..."}}\'',
        f'    curl -s $RUCHE/v1/projects/{translation.id} -H "Authorization: Bearer $NGO"',
        f'    curl -s $RUCHE/v1/projects/{translation.id}/results -H "Authorization: Bearer $NGO"',
        "  README.md, section Try the demo, walks through it.",
    ]
    return lines
