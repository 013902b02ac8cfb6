"""Simulated crowds and tasks for ``bench/quality.py``: who answers what, from fixed seeds.

Kinds of volunteer (QUALITY.md's usual suspects): *reliable* (right 90 % of the time),
*mediocre* (65 %), *spammers* (uniformly random answers), *constant* answerers (the same answer,
whatever the task), *adversaries* (who see the truth and answer something else), and volunteers
who get better (*improving*, 60 % -> 90 % over a run) or worse (*slipping*, 90 % -> 50 %).
Activity is even, or follows a long tail (the k-th most active volunteer answers ~1/k as often).
Three kinds of task, each with its truth:

- moderation: a post to label among 2, 3 or 4 labels with the scenario's base rates (80/20,
  60/25/15, 55/20/15/10); errors pick another label uniformly;
- data entry: a form with a name, a date and an amount, written in varied but equivalent ways
  by those who read them right; misreadings are typos, day/month swaps and digit slips; a
  spammer makes values up, a constant answerer types the same three values every time;
- translation choice: five candidate translations of a sentence, two of them right (two
  paraphrases), three unrelated; the volunteer submits the one they pick; a constant answerer
  always picks the one listed first.

For crowd-kit every answer is also a categorical label: the label itself, the candidate's
position, or for data entry one label per field (its normalised reading), so the batch methods
see exactly the answers Ruche saw.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from task_types import get as get_task_type
from task_types.data_entry.normalise import read_value
from task_types.text import clean_text

__all__ = [
    "MIXES",
    "Kind",
    "Moderation",
    "SimTask",
    "Worker",
    "crowd",
    "kinds",
    "pick_queue",
    "seeded_id",
]

_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def seeded_id(prefix: str, rng: random.Random) -> str:
    """An id of the board's shape (``vol_``/``prj_`` and 20 characters) drawn from ``rng``, so a
    seed replays the same run exactly: ids order hashes and sorts, so random ids made runs of
    one seed differ."""
    return f"{prefix}_" + "".join(rng.choice(_ID_ALPHABET) for _ in range(20))


#: Accuracy at the start and at the end of a run (None: answers without looking).
PROFILES: Mapping[str, tuple[float | None, float | None]] = {
    "reliable": (0.9, 0.9),
    "mediocre": (0.65, 0.65),
    "improving": (0.6, 0.9),
    "slipping": (0.9, 0.5),
    "spammer": (None, None),
    "constant": (None, None),
    "adversary": (None, None),
}

#: Shares of each profile. "half poor": half the crowd is no help; "hostile": a constant
#: answerer, a spammer and an adversary in every ten; "drifting": some get better, some worse.
MIXES: Mapping[str, Mapping[str, float]] = {
    "typical": {"reliable": 0.5, "mediocre": 0.3, "spammer": 0.1, "constant": 0.1},
    "half poor": {"reliable": 0.3, "mediocre": 0.2, "spammer": 0.3, "constant": 0.2},
    "hostile": {
        "reliable": 0.4,
        "mediocre": 0.3,
        "spammer": 0.1,
        "constant": 0.1,
        "adversary": 0.1,
    },
    "drifting": {
        "reliable": 0.35,
        "mediocre": 0.25,
        "improving": 0.15,
        "slipping": 0.15,
        "spammer": 0.05,
        "constant": 0.05,
    },
}


@dataclass(frozen=True)
class Worker:
    id: str
    profile: str
    accuracy: float | None  # None: answers without looking (spammer, constant, adversary)
    quirk: int  # the constant answerer's one answer (an index into the kind's options)
    activity: float = 1.0  # relative share of the answers they give

    def at(self, progress: float) -> Worker:
        """The volunteer as they are ``progress`` (0..1) into a run."""
        start, end = PROFILES[self.profile]
        if start is None or end is None or start == end:
            return self
        return replace(self, accuracy=start + (end - start) * progress)


def crowd(
    mix: Mapping[str, float], size: int, rng: random.Random, long_tail: bool = False
) -> list[Worker]:
    """``size`` volunteers in the mix's proportions (rounded), in random order; with
    ``long_tail`` the k-th of them (in that order) is 1/k as active as the first."""
    workers: list[Worker] = []
    for profile, share in mix.items():
        for _ in range(round(share * size)):
            accuracy = PROFILES[profile][0]
            workers.append(Worker(seeded_id("vol", rng), profile, accuracy, rng.randrange(99)))
    rng.shuffle(workers)
    if long_tail:
        workers = [replace(w, activity=1.0 / (k + 1)) for k, w in enumerate(workers)]
    return workers


def pick_queue(workers: Sequence[Worker], count: int, rng: random.Random) -> list[Worker]:
    """``count`` distinct volunteers, each drawn in proportion to their activity."""
    pool = list(workers)
    chosen: list[Worker] = []
    for _ in range(count):
        [worker] = rng.choices(pool, weights=[w.activity for w in pool])
        pool.remove(worker)
        chosen.append(worker)
    return chosen


@dataclass(frozen=True)
class SimTask:
    payload: dict[str, Any]
    truth: dict[str, Any]  # the right answer, as a volunteer would submit it
    options: tuple[str, ...] = ()  # labels or candidate texts (categorical kinds)
    right: frozenset[str] = frozenset()  # candidate texts that are right (translation)


class Kind(Protocol):
    name: str  # the task type
    title: str  # how the report names it
    #: True when answers are free values (no label set shared across tasks).
    free_values: bool

    def task(self, rng: random.Random) -> SimTask: ...

    def answer(self, worker: Worker, task: SimTask, rng: random.Random) -> dict[str, Any]: ...

    def units(self, task: SimTask, answer: Mapping[str, Any]) -> dict[str, str]:
        """The answer as crowd-kit labels: unit suffix -> label (one unit per field)."""
        ...

    def correct(self, task: SimTask, final: Mapping[str, Any] | None) -> bool: ...

    def right_units(self, task: SimTask) -> dict[str, set[str]]:
        """Per unit, the crowd-kit labels that are right."""
        ...


def _honest(worker: Worker, rng: random.Random) -> bool | None:
    """Whether this answer is right (None: the worker does not look at the task)."""
    return None if worker.accuracy is None else rng.random() < worker.accuracy


class Moderation:
    name = "moderation"
    free_values = False
    LABELS = ("ok", "spam", "abuse", "other")

    def __init__(self, base_rates: Sequence[float]) -> None:
        self.base_rates = tuple(base_rates)
        self.labels = self.LABELS[: len(base_rates)]
        shares = "/".join(f"{round(100 * rate)}" for rate in base_rates)
        self.title = f"{len(base_rates)} labels {shares}"

    def task(self, rng: random.Random) -> SimTask:
        truth = rng.choices(self.labels, self.base_rates)[0]
        payload = {"content": f"post {rng.randrange(10**9)}", "labels": list(self.labels)}
        return SimTask(payload, {"label": truth}, self.labels)

    def answer(self, worker: Worker, task: SimTask, rng: random.Random) -> dict[str, Any]:
        truth = task.truth["label"]
        others = [label for label in self.labels if label != truth]
        if worker.profile == "constant":
            return {"label": self.labels[worker.quirk % len(self.labels)]}
        if worker.profile == "adversary":
            return {"label": rng.choice(others)}
        honest = _honest(worker, rng)
        if honest is None:
            return {"label": rng.choice(self.labels)}
        return {"label": truth if honest else rng.choice(others)}

    def units(self, task: SimTask, answer: Mapping[str, Any]) -> dict[str, str]:
        return {"": str(answer["label"])}

    def right_units(self, task: SimTask) -> dict[str, set[str]]:
        return {"": {task.truth["label"]}}

    def correct(self, task: SimTask, final: Mapping[str, Any] | None) -> bool:
        return final is not None and final.get("label") == task.truth["label"]


FIRST = ["Awa", "Moussa", "Fatou", "Ibrahima", "Aminata", "Cheikh", "Mariama", "Ousmane",
         "Khady", "Abdou", "Ndeye", "Mamadou", "Coumba", "Lamine", "Astou", "Babacar"]  # fmt: skip
LAST = ["Diallo", "Sow", "Ba", "Ndiaye", "Fall", "Diop", "Sarr", "Faye", "Gueye", "Cisse",
        "Kane", "Mbaye", "Niang", "Seck", "Thiam", "Wade"]  # fmt: skip
FORM_FIELDS = [
    {"name": "name", "type": "name"},
    {"name": "born", "type": "date"},
    {"name": "amount", "type": "number"},
]


class DataEntry:
    name = "data_entry"
    title = "data entry"
    free_values = True

    def __init__(self) -> None:
        kind = get_task_type("data_entry")
        payload = kind.parse_payload({"document": {"text": "form"}, "fields": FORM_FIELDS})
        self.specs = {spec.name: spec for spec in payload.fields}

    def task(self, rng: random.Random) -> SimTask:
        day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1940, 2010)
        truth = {
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "born": f"{year:04d}-{month:02d}-{day:02d}",
            "amount": str(rng.randrange(5, 5000)),
        }
        payload = {"document": {"text": f"donation slip {rng.randrange(10**9)}"},
                   "fields": FORM_FIELDS}  # fmt: skip
        return SimTask(payload, {"values": truth})

    def answer(self, worker: Worker, task: SimTask, rng: random.Random) -> dict[str, Any]:
        if worker.profile == "constant":
            return {"values": {"name": "Jean Dupont", "born": "2000-01-01", "amount": "100"}}
        values = {}
        for name, truth in task.truth["values"].items():
            honest = False if worker.profile == "adversary" else _honest(worker, rng)
            if honest is None:
                values[name] = self._made_up(name, rng)
            elif honest:
                values[name] = self._written(name, truth, rng)
            else:
                values[name] = self._misread(name, truth, rng)
        return {"values": values}

    def _written(self, name: str, value: str, rng: random.Random) -> str:
        """The right value, typed one of the ways that mean the same."""
        if name == "name":
            first, last = value.split(" ", 1)
            return rng.choice([value, value.upper(), f" {value} ", f"{last}, {first}"])
        if name == "born":
            year, month, day = value.split("-")
            return rng.choice([value, f"{day}/{month}/{year}", f"{int(day)}.{int(month)}.{year}"])
        return rng.choice([value, f"{value}.00", f"{int(value):,}", f"KES {int(value):,}",
                           f"{value}/-"])  # fmt: skip

    def _misread(self, name: str, value: str, rng: random.Random) -> str:
        if name == "name":
            at = rng.randrange(len(value))
            slip = rng.choice(["drop", "double", "swap"])
            if slip == "drop":
                return value[:at] + value[at + 1 :]
            if slip == "double":
                return value[:at] + value[at] + value[at:]
            return value[:at] + rng.choice("aeioulnrst") + value[at + 1 :]
        if name == "born":
            year, month, day = (int(part) for part in value.split("-"))
            if day <= 12 and day != month and rng.random() < 0.5:
                return f"{year:04d}-{day:02d}-{month:02d}"  # day and month swapped
            return f"{year + rng.choice([-10, -1, 1, 10]):04d}-{month:02d}-{day:02d}"
        digits = list(value)
        at = rng.randrange(len(digits))
        digits[at] = rng.choice([d for d in "0123456789" if d != digits[at]])
        slipped = "".join(digits).lstrip("0") or "1"
        return rng.choice([slipped, value + "0", value[:-1] or "1"])

    def _made_up(self, name: str, rng: random.Random) -> str:
        if name == "name":
            return f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if name == "born":
            return f"{rng.randint(1940, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        return str(rng.randrange(5, 5000))

    def _key(self, name: str, raw: Any) -> str:
        try:
            reading = read_value(self.specs[name], raw)
        except ValueError:
            return "<unreadable>"
        return "<blank>" if reading is None else reading.key

    def units(self, task: SimTask, answer: Mapping[str, Any]) -> dict[str, str]:
        return {name: self._key(name, value) for name, value in answer["values"].items()}

    def right_units(self, task: SimTask) -> dict[str, set[str]]:
        return {name: {self._key(name, value)} for name, value in task.truth["values"].items()}

    def correct(self, task: SimTask, final: Mapping[str, Any] | None) -> bool:
        if final is None:
            return False
        values = final.get("values") or {}
        return all(
            values.get(name) is not None and self._key(name, values[name]) in expected
            for name, expected in self.right_units(task).items()
        )


VERBS = ["check", "sign", "send", "read", "print", "fill in", "return", "review", "update",
         "share"]  # fmt: skip
OBJECTS = ["form", "letter", "report", "invoice", "schedule", "contract", "survey", "receipt",
           "application", "booklet"]  # fmt: skip
TIMES = ["the meeting", "Friday", "noon", "the deadline", "the next visit", "the end of the week",
         "tomorrow morning", "the distribution", "the workshop", "the holidays"]  # fmt: skip
ADJECTIVES = ["ready", "late", "missing", "available", "closed"]


class TranslationChoice:
    name = "translation"
    title = "translation"
    free_values = False

    def task(self, rng: random.Random) -> SimTask:
        verb, thing, time = rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(TIMES)
        right = [f"Please {verb} the {thing} before {time}.",
                 f"Remember to {verb} the {thing} before {time}."]  # fmt: skip
        wrong = [
            f"The {rng.choice(OBJECTS)} was {rng.choice(ADJECTIVES)} yesterday, so we waited.",
            f"Our volunteers {rng.choice(VERBS)} {rng.choice(OBJECTS)}s every single day.",
            f"Nobody knows where the {rng.choice(OBJECTS)} went last year.",
        ]
        options = [*right, *wrong]
        rng.shuffle(options)
        payload = {
            "source_text": f"Merci de traiter le document numéro {rng.randrange(10**6)} avant "
            "la prochaine réunion.",
            "source_lang": "fr",
            "target_lang": "en",
        }
        return SimTask(payload, {"text": right[0]}, tuple(options), frozenset(right))

    def answer(self, worker: Worker, task: SimTask, rng: random.Random) -> dict[str, Any]:
        if worker.profile == "constant":
            return {"text": task.options[0]}
        honest = False if worker.profile == "adversary" else _honest(worker, rng)
        if honest is None:
            return {"text": rng.choice(task.options)}
        pool = [o for o in task.options if (o in task.right) == honest]
        return {"text": rng.choice(pool)}

    def units(self, task: SimTask, answer: Mapping[str, Any]) -> dict[str, str]:
        return {"": str(task.options.index(answer["text"]))}

    def right_units(self, task: SimTask) -> dict[str, set[str]]:
        return {"": {str(n) for n, option in enumerate(task.options) if option in task.right}}

    def correct(self, task: SimTask, final: Mapping[str, Any] | None) -> bool:
        return final is not None and clean_text(str(final.get("text"))) in task.right


def kinds() -> dict[str, Kind]:
    """Every kind of task the benchmark knows, by the name scenarios use."""
    return {
        "moderation 3": Moderation((0.6, 0.25, 0.15)),
        "moderation 2": Moderation((0.8, 0.2)),
        "moderation 4": Moderation((0.55, 0.2, 0.15, 0.1)),
        "data entry": DataEntry(),
        "translation": TranslationChoice(),
    }
