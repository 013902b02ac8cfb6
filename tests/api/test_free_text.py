"""Free text refuses control and bidirectional-override characters, on every route taking some.

Names, reasons, comments, notes, instructions and impact notes (``core.text``): NUL and the other
C0 controls, DEL, the C1 controls, the bidi embeddings and overrides (U+202A to U+202E) and
isolates (U+2066 to U+2069) are refused with 422 ``invalid_request``, detail type
``control_characters`` at the field; one-line text refuses tabs and line breaks too. Right-to-left
marks stay welcome, and so does anything in a task's payload (the NGO's data, kept as given).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.support.api.client import ADMIN, Actors
from tests.support.api.volunteers import Scene, answer_all, claim

pytestmark = pytest.mark.anyio

# Inside the text (not at its ends, where whitespace stripping would take some of them away).
EVERYWHERE = {
    "NUL": "\x00",
    "escape": "\x1b",
    "DEL": "\x7f",
    "C1 next line": "\x85",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "first strong isolate": "\u2068",
    "pop directional isolate": "\u2069",
}
ONE_LINE_ONLY = {"tab": "\t", "line feed": "\n", "carriage return": "\r", "line sep": "\u2028"}
# Hebrew with right-to-left and left-to-right marks.
RTL = "\u05e9\u05dc\u05d5\u05dd \u200fAda\u200e"

Send = Callable[[str], Awaitable[httpx.Response]]


async def refusals(
    send: Send, field: str, *, multiline: bool, kind: str = "control_characters"
) -> list[str]:
    """What is wrong with ``send``'s answers for each refused character (empty: all right)."""
    wrong = []
    refused = {**EVERYWHERE, **({} if multiline else ONE_LINE_ONLY)}
    for name, char in refused.items():
        response = await send(f"Hand{char}out")
        details = response.json().get("error", {}).get("details", [])
        kinds = [(str(d["loc"][-1]), d["type"]) for d in details]
        if response.status_code != 422 or (field, kind) not in kinds:
            wrong.append(f"{field} with {name}: {response.status_code} {response.text[:160]}")
    return wrong


async def test_every_free_text_field_refuses_control_and_bidi_characters(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project_id, _ = await world.project(4, redundancy=2)
    project_url = f"/v1/projects/{project_id}"
    _, me = await actors.volunteer()
    held = (await claim(api, me)).json()["id"]
    new_project = {"name": "P", "task_type": "translation", "instructions": "Translate."}

    def post(url: str, body: Callable[[str], dict[str, Any]], **headers: str) -> Send:
        return lambda text: api.post(url, json=body(text), headers=headers)

    def patch(url: str, body: Callable[[str], dict[str, Any]], **headers: str) -> Send:
        return lambda text: api.patch(url, json=body(text), headers=headers)

    org = world.org
    cases: list[tuple[Send, str | int, bool]] = [
        (post("/v1/orgs", lambda t: {"name": t, "contact_email": "a@b.org"}, **ADMIN),
         "name", False),
        (post("/v1/projects", lambda t: {**new_project, "name": t}, **org), "name", False),
        (post("/v1/projects", lambda t: {**new_project, "instructions": t}, **org),
         "instructions", True),
        (post("/v1/projects", lambda t: {**new_project, "impact_note": t}, **org),
         "impact_note", True),
        (post("/v1/projects", lambda t: {**new_project, "skills": [t]}, **org), 0, False),
        (patch(project_url, lambda t: {"name": t}, **org), "name", False),
        (patch(project_url, lambda t: {"instructions": t}, **org), "instructions", True),
        (patch(project_url, lambda t: {"impact_note": t}, **org), "impact_note", True),
        (post("/v1/volunteers", lambda t: {"display_name": t, "languages": ["fr"]}),
         "display_name", False),
        (post("/v1/volunteers", lambda t: {"display_name": "B", "languages": ["fr"],
                                           "skills": [t]}), 0, False),
        (patch("/v1/me", lambda t: {"display_name": t}, **me), "display_name", False),
        (post(f"/v1/assignments/{held}/release", lambda t: {"reason": t}, **me), "reason", True),
    ]  # fmt: skip
    wrong = []
    for send, field, multiline in cases:
        wrong += await refusals(send, str(field), multiline=multiline)
    # The address has a pattern of its own, which leaves those characters out.
    email = post("/v1/orgs", lambda t: {"name": "N", "contact_email": f"a{t}@b.org"}, **ADMIN)
    wrong += await refusals(email, "contact_email", multiline=False, kind="string_pattern_mismatch")
    assert wrong == []

    # What is refused above is allowed where it belongs, and right-to-left marks everywhere.
    made = await api.post(
        "/v1/projects",
        json={**new_project, "name": RTL, "instructions": "Step 1:\tread\r\nStep 2: write"},
        headers=org,
    )
    assert made.status_code == 201, made.text
    assert made.json()["name"] == RTL
    assert (await api.patch("/v1/me", json={"display_name": RTL}, headers=me)).is_success
    released = await api.post(
        f"/v1/assignments/{held}/release", json={"reason": "Too long:\nnot today"}, headers=me
    )
    assert released.status_code == 204, released.text


async def test_bulk_items_refuse_them_in_the_explanation_and_the_external_id(
    api: httpx.AsyncClient, world: Scene
) -> None:
    project_id, _ = await world.project(0)
    payload = {"source_text": "Bonjour \u202eruojnoB\u202c \u2067\u05e9\u05dc\u05d5\u05dd\u2069",
               "source_lang": "fr", "target_lang": "en"}  # fmt: skip
    gold = {"text": "Hello"}
    items = [
        {"external_id": "a\u202eb", "payload": payload},
        {"external_id": "a\nb", "payload": payload},
        {"payload": payload, "gold_answer": gold, "gold_explanation": "Because\x00"},
        {"external_id": "kept", "payload": payload},  # bidi controls in a payload: the NGO's data
        {"payload": payload, "gold_answer": gold, "gold_explanation": "Line 1\nLine 2"},
    ]
    response = await api.post(
        f"/v1/projects/{project_id}/tasks", json={"tasks": items}, headers=world.org
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    assert [
        (r["index"], r["external_id"], [(e["loc"], e["type"]) for e in r["errors"]])
        for r in body["rejected"]
    ] == [
        (0, None, [(["external_id"], "control_characters")]),
        (1, None, [(["external_id"], "control_characters")]),
        (2, None, [(["gold_explanation"], "control_characters")]),
    ]


async def test_a_review_comment_refuses_them_too(
    api: httpx.AsyncClient, actors: Actors, world: Scene
) -> None:
    project_id, [task] = await world.project(1, redundancy=2)
    answerers = [(await actors.volunteer())[1] for _ in range(2)]
    await answer_all(api, answerers, {"text": "Lavez-vous les mains."})
    assert await world.open_review(project_id, task)
    reviewer_id, reviewer = await actors.volunteer()
    await world.grant(project_id, reviewer_id)
    item = (await api.post("/v1/reviews", json={}, headers=reviewer)).json()
    url = f"/v1/reviews/{item['id']}/decision"
    wrong = await refusals(
        lambda t: api.post(url, json={"action": "reject", "comment": t}, headers=reviewer),
        "comment",
        multiline=True,
    )
    assert wrong == []
    decided = await api.post(
        url, json={"action": "reject", "comment": "Not French.\n\u05dc\u05d0"}, headers=reviewer
    )
    assert decided.status_code == 200, decided.text
