"""The demo's content, written for it: what ``ruche up --demo`` loads into its three projects.

- ``guide_benevolat.json``: a short French guide to online volunteering, sentence by sentence,
  with a reference English translation of each (used only by ``--demo-answers``);
- ``donateurs.json``: donation slips of fictitious donors (invented names, postcodes 99xxx in
  invented towns, ``@example.org`` emails, phone numbers from the French ranges reserved for
  fiction), with the values a careful volunteer would read from each;
- ``forum.json``: invented posts of a neighbourhood forum, each with the label it deserves.

Each project is a :class:`DemoProject`: the body of ``POST /v1/projects`` and the tasks to submit
(each with a stable ``external_id``), plus the expected answer of each task and how a volunteer
gets one wrong now and then (``slip``, for ``--demo-answers``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["DemoProject", "demo_projects"]


@dataclass(frozen=True)
class DemoProject:
    key: str  # "translation", "data_entry" or "moderation"
    spec: dict[str, Any]  # the body of POST /v1/projects
    tasks: list[dict[str, Any]] = field(repr=False)  # items of POST /v1/projects/{id}/tasks
    expected: dict[str, dict[str, Any]] = field(repr=False)  # external id -> a right answer
    #: A wrong (but valid) answer made from a right one: a volunteer's occasional slip.
    slip: Callable[[dict[str, Any]], dict[str, Any]] = field(repr=False)

    @property
    def name(self) -> str:
        return str(self.spec["name"])


def _load(name: str) -> Any:
    source = resources.files(__name__).joinpath(name)
    return json.loads(source.read_text(encoding="utf-8"))


def _translation() -> DemoProject:
    guide = _load("guide_benevolat.json")
    tasks, expected = [], {}
    number = 0
    for section in guide["sections"]:
        for french, english in section["sentences"]:
            number += 1
            external_id = f"guide-{number:02d}"
            glossary = {
                term: target
                for term, target in guide["glossary"].items()
                if term.casefold() in french.casefold()
            }
            payload: dict[str, Any] = {
                "source_text": french,
                "source_lang": guide["source_lang"],
                "target_lang": guide["target_lang"],
                "context": f"{guide['title']}, section « {section['title']} »",
            }
            if glossary:
                payload["glossary"] = glossary
            tasks.append({"external_id": external_id, "payload": payload})
            expected[external_id] = {"text": english}
    spec = {
        "name": "Guide du bénévolat en ligne (FR → EN)",
        "task_type": "translation",
        "redundancy": 3,
        "lease_seconds": 600,
        "priority": 10,
        "languages": ["fr", "en"],
        "instructions": (
            "Translate the French sentence into plain, natural English. Keep names, figures and "
            "dates as they are; use the glossary's terms. Unsure? Release the task rather than "
            "guess.\n\nTraduisez la phrase en anglais simple et naturel."
        ),
        "impact_note": "Our volunteering guide will welcome English-speaking newcomers.",
        "max_redundancy": 5,
    }
    return DemoProject(
        "translation",
        spec,
        tasks,
        expected,
        slip=lambda right: {"text": right["text"].rstrip(".") + ", really."},
    )


_DONOR_FIELDS = [
    {"name": "name", "type": "string", "label": "Nom et prénom du donateur"},
    {"name": "amount", "type": "number", "label": "Montant (€)", "decimal_comma": True},
    {"name": "date", "type": "date", "label": "Date du don"},
    {"name": "email", "type": "email", "required": False, "label": "Courriel"},
    {"name": "phone", "type": "phone", "required": False, "label": "Téléphone"},
]


def _data_entry() -> DemoProject:
    donors = _load("donateurs.json")
    tasks = [
        {
            "external_id": record["ref"],
            "payload": {"document": {"text": record["text"]}, "fields": _DONOR_FIELDS},
        }
        for record in donors["records"]
    ]
    expected = {record["ref"]: {"values": record["expected"]} for record in donors["records"]}
    spec = {
        "name": "Fiches donateurs 2024",
        "task_type": "data_entry",
        "redundancy": 2,
        "lease_seconds": 600,
        "languages": ["fr"],
        "instructions": (
            "Type the donor's name, the amount, the date of the gift, and the email and phone "
            "when the slip has them (leave them empty otherwise).\n\nRecopiez le nom, le montant, "
            "la date du don, et le courriel et le téléphone s'ils figurent sur la fiche."
        ),
        "impact_note": "Every donor gets a tax receipt and a thank-you letter on time.",
        "max_redundancy": 4,
    }
    return DemoProject(
        "data_entry",
        spec,
        tasks,
        expected,
        slip=lambda right: {
            "values": {**right["values"], "amount": right["values"]["amount"] + 10}
        },
    )


def _moderation() -> DemoProject:
    forum = _load("forum.json")
    tasks = [
        {
            "external_id": post["ref"],
            "payload": {
                "content": post["content"],
                "labels": forum["labels"],
                "policy": forum["policy"],
            },
        }
        for post in forum["posts"]
    ]
    expected = {post["ref"]: {"label": post["label"]} for post in forum["posts"]}
    spec = {
        "name": "Modération du forum du quartier",
        "task_type": "moderation",
        "redundancy": 3,
        "lease_seconds": 300,
        "priority": 5,
        "languages": ["fr"],
        "instructions": (
            "Read the post and choose ok, spam or abuse according to the policy. Criticism is "
            "fine; attacks on people are not.\n\nLisez le message et choisissez ok, spam ou "
            "abuse selon la charte du forum."
        ),
        "impact_note": "A friendly forum where neighbours help each other.",
        # As many answers as the demo has volunteers: a post they split on goes to the reviewer
        # (--demo-answers makes a few such posts, for the reviewer to practise on).
        "max_redundancy": 3,
    }
    return DemoProject(
        "moderation",
        spec,
        tasks,
        expected,
        slip=lambda right: {"label": "ok" if right["label"] != "ok" else "spam"},
    )


@cache
def demo_projects() -> tuple[DemoProject, ...]:
    """The three demo projects, in the order they are created."""
    return (_translation(), _data_entry(), _moderation())
