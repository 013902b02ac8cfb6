"""Properties every aggregation must keep, whatever the answers and weights."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from task_types.base import AnyTaskType, Verdict
from task_types.data_entry import TASK_TYPE as DATA_ENTRY
from task_types.data_entry import DataEntryAnswer
from task_types.moderation import TASK_TYPE as MODERATION
from task_types.moderation import ModerationAnswer
from task_types.text import clean_text
from task_types.translation import TASK_TYPE as TRANSLATION
from task_types.translation import TranslationAnswer

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)

TRANSLATION_PAYLOAD = TRANSLATION.parse_payload(
    {
        "source_text": "Please wash your hands with soap before preparing food.",
        "source_lang": "en",
        "target_lang": "fr",
    }
)
VOCABULARY = (
    "la le les une des mains savon avant après manger laver veuillez merci eau propre enfant "
    "clinique demain matin soir centre santé réunion nourriture préparer"
)
FRENCH_WORDS = VOCABULARY.split()
french_sentences = st.lists(st.sampled_from(FRENCH_WORDS), min_size=1, max_size=12).map(" ".join)
# Long enough (>= 24 characters) and short enough (<= 131) to pass the length filter.
plausible_sentences = st.lists(
    st.sampled_from([word for word in FRENCH_WORDS if len(word) >= 4]), min_size=5, max_size=12
).map(" ".join)
any_translation = st.one_of(
    french_sentences,
    st.sampled_from(
        [
            "Please wash your hands with soap before preparing food.",  # a copy
            "Oui",  # implausibly short
            "Lavez-vous les mains au savon avant de préparer la nourriture.",
        ]
    ),
    st.text(min_size=1, max_size=60).filter(lambda text: bool(clean_text(text))),
).map(lambda text: TranslationAnswer(text=text))

DATA_ENTRY_PAYLOAD = DATA_ENTRY.parse_payload(
    {
        "document": {"text": "Register, page 3"},
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "count", "type": "number"},
            {"name": "born", "type": "date"},
            {"name": "group", "type": "enum", "choices": ["A", "B", "C"], "required": False},
        ],
    }
)
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d %B %Y"]
names = st.text(alphabet="abcdeéfghiJKLMNO ", min_size=1, max_size=12).filter(
    lambda text: any(char.isalpha() for char in text)
)
dates = st.builds(
    lambda day, fmt: day.strftime(fmt),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    st.sampled_from(DATE_FORMATS),
)
valid_rows = st.fixed_dictionaries(
    {
        "name": names,
        "count": st.one_of(st.integers(-10_000, 10_000), st.integers(0, 10**6).map("{:,}".format)),
        "born": dates,
    },
    optional={"group": st.sampled_from(["A", "b", "C"])},
)
placeholders = st.sampled_from([None, "", "N/A", "unknown", "?", "-"])
any_rows = st.fixed_dictionaries(
    {
        "name": st.one_of(st.sampled_from(["Awa", "awa", "Aminata"]), placeholders),
        "count": st.one_of(st.sampled_from(["3", "3.0", "4", "lots"]), placeholders),
        "born": st.one_of(
            st.sampled_from(["1990-03-05", "05/03/1990", "31/02/1990"]), placeholders
        ),
    }
)

MODERATION_PAYLOAD = MODERATION.parse_payload(
    {"content": "Free phones!!!", "labels": ["ok", "spam", "harassment"]}
)
two_label_payloads = st.sampled_from(
    [
        MODERATION.parse_payload({"content": "x", "labels": ["ok", "spam"]}),
        MODERATION_PAYLOAD,
        MODERATION.parse_payload({"content": "x", "labels": [f"l{i}" for i in range(10)]}),
    ]
)
any_vote = st.builds(
    lambda label, reasons: ModerationAnswer(label=label, reasons=reasons),
    st.sampled_from(["ok", "spam", "harassment"]),
    st.lists(st.sampled_from(["link", "caps", "insult"]), max_size=2),
)


def _well_formed(verdict: Verdict, count: int) -> None:
    assert 0.0 <= verdict.confidence <= 1.0
    assert all(0 <= index < count for index in verdict.support)
    assert verdict.support == sorted(set(verdict.support))
    assert not verdict.agreed or verdict.answer is not None


def _same_decision(
    task_type: AnyTaskType, payload: Any, answers: list[Any], weights: list[float], order: list[int]
) -> None:
    straight = task_type.aggregate(payload, answers, weights)
    shuffled = task_type.aggregate(
        payload, [answers[i] for i in order], [weights[i] for i in order]
    )
    assert shuffled.answer == straight.answer
    assert shuffled.agreed == straight.agreed
    assert abs(shuffled.confidence - straight.confidence) <= 1e-12
    assert sorted(order[i] for i in shuffled.support) == straight.support


# -- identical answers agree ---------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    text=plausible_sentences,
    weights=st.lists(st.floats(0.05, 5.0), min_size=2, max_size=6),
    threshold=st.floats(0.0, 1.0),
)
def test_identical_translations_always_agree(
    text: str, weights: list[float], threshold: float
) -> None:
    answers = [TranslationAnswer(text=text)] * len(weights)
    verdict = TRANSLATION.aggregate(TRANSLATION_PAYLOAD, answers, weights, threshold=threshold)
    assert verdict.agreed
    assert verdict.confidence >= threshold
    assert verdict.answer == {"text": clean_text(text)}


@PROPERTY_SETTINGS
@given(
    row=valid_rows,
    weights=st.lists(st.floats(0.05, 5.0), min_size=2, max_size=6),
    threshold=st.floats(0.0, 1.0),
)
def test_identical_data_entries_always_agree(
    row: dict[str, Any], weights: list[float], threshold: float
) -> None:
    answers = [DataEntryAnswer(values=row)] * len(weights)
    verdict = DATA_ENTRY.aggregate(DATA_ENTRY_PAYLOAD, answers, weights, threshold=threshold)
    assert verdict.agreed
    assert verdict.confidence >= threshold
    assert verdict.answer == {"values": DATA_ENTRY.normalise(DATA_ENTRY_PAYLOAD, answers[0]).values}


@PROPERTY_SETTINGS
@given(
    payload=two_label_payloads,
    skills=st.lists(st.floats(0.7, 1.0), min_size=3, max_size=7),
    data=st.data(),
)
def test_three_or_more_identical_votes_of_skilled_volunteers_agree(
    payload: Any, skills: list[float], data: st.DataObject
) -> None:
    label = data.draw(st.sampled_from(payload.labels))
    verdict = MODERATION.aggregate(payload, [ModerationAnswer(label=label)] * len(skills), skills)
    assert verdict.agreed
    assert verdict.confidence >= MODERATION.default_threshold
    assert verdict.answer == {"label": label, "reasons": []}


# -- any answers: well-formed verdicts, independent of arrival order ------------------------


@PROPERTY_SETTINGS
@given(
    answers=st.lists(any_translation, max_size=6),
    data=st.data(),
)
def test_translation_verdicts_are_well_formed_and_order_independent(
    answers: list[TranslationAnswer], data: st.DataObject
) -> None:
    weights = data.draw(st.lists(st.floats(0.0, 3.0), min_size=len(answers), max_size=len(answers)))
    _well_formed(TRANSLATION.aggregate(TRANSLATION_PAYLOAD, answers, weights), len(answers))
    order = data.draw(st.permutations(range(len(answers))))
    _same_decision(TRANSLATION, TRANSLATION_PAYLOAD, answers, weights, list(order))


@PROPERTY_SETTINGS
@given(rows=st.lists(any_rows, max_size=6), data=st.data())
def test_data_entry_verdicts_are_well_formed_and_order_independent(
    rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    answers = [DataEntryAnswer(values=row) for row in rows]
    weights = data.draw(st.lists(st.floats(0.0, 3.0), min_size=len(rows), max_size=len(rows)))
    _well_formed(DATA_ENTRY.aggregate(DATA_ENTRY_PAYLOAD, answers, weights), len(answers))
    order = data.draw(st.permutations(range(len(answers))))
    _same_decision(DATA_ENTRY, DATA_ENTRY_PAYLOAD, answers, weights, list(order))


@PROPERTY_SETTINGS
@given(answers=st.lists(any_vote, max_size=7), data=st.data())
def test_moderation_verdicts_are_well_formed_and_order_independent(
    answers: list[ModerationAnswer], data: st.DataObject
) -> None:
    skills = data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(answers), max_size=len(answers)))
    _well_formed(MODERATION.aggregate(MODERATION_PAYLOAD, answers, skills), len(answers))
    order = data.draw(st.permutations(range(len(answers))))
    _same_decision(MODERATION, MODERATION_PAYLOAD, answers, skills, list(order))


# -- normalisation -------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(row=valid_rows)
def test_data_entry_normalisation_is_idempotent(row: dict[str, Any]) -> None:
    once = DATA_ENTRY.normalise(DATA_ENTRY_PAYLOAD, DataEntryAnswer(values=row))
    assert DATA_ENTRY.normalise(DATA_ENTRY_PAYLOAD, once) == once


@PROPERTY_SETTINGS
@given(text=st.text(min_size=1, max_size=80).filter(lambda text: bool(clean_text(text))))
def test_translation_normalisation_is_idempotent(text: str) -> None:
    once = TRANSLATION.normalise(TRANSLATION_PAYLOAD, TranslationAnswer(text=text))
    assert TRANSLATION.normalise(TRANSLATION_PAYLOAD, once) == once


@PROPERTY_SETTINGS
@given(answer=any_translation, gold=any_translation)
def test_scores_stay_in_the_unit_interval(
    answer: TranslationAnswer, gold: TranslationAnswer
) -> None:
    assert 0.0 <= TRANSLATION.score(TRANSLATION_PAYLOAD, answer, gold) <= 1.0
