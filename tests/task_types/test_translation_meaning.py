"""Translation confidence drops when close candidates differ by a word that changes the meaning
(issue 15): numbers, negation, names kept from the source, glossary terms. Such candidates are
two camps, so the task gets another answer or a reviewer instead of being accepted."""

from __future__ import annotations

import pytest

from task_types import get as get_task_type
from task_types.reliability import NEUTRAL
from task_types.translation.meaning import meaning_marks
from task_types.translation.models import TranslationAnswer

TRANSLATION = get_task_type("translation")
PAYLOAD = TRANSLATION.parse_payload(
    {
        "source_text": "Prenez 2 comprimés par jour à Dakar, dit le docteur Awa Diallo.",
        "source_lang": "fr",
        "target_lang": "en",
        "glossary": {"comprimés": "tablets"},
    }
)
RIGHT = "Take 2 tablets a day in Dakar, says doctor Awa Diallo."


def texts(*written: str) -> list[TranslationAnswer]:
    return [TranslationAnswer(text=text) for text in written]


def test_marks_are_numbers_negation_names_and_glossary_terms() -> None:
    assert meaning_marks(PAYLOAD, RIGHT) == {"#2", "=tablets", "@dakar", "@awa", "@diallo"}
    assert "!not" in meaning_marks(PAYLOAD, "Don't take 2 tablets a day in Dakar.")
    assert "!not" in meaning_marks(PAYLOAD, "Never take 2 tablets.")
    assert meaning_marks(PAYLOAD, "Take 1,000 pills.") == {"#1000"}


@pytest.mark.parametrize(
    "changed",
    [
        "Take 3 tablets a day in Dakar, says doctor Awa Diallo.",  # a number
        "Do not take 2 tablets a day in Dakar, says doctor Awa Diallo.",  # negation
        "Take 2 pills a day in Dakar, says doctor Awa Diallo.",  # the glossary term
        "Take 2 tablets a day in Thies, says doctor Awa Diallo.",  # a name
    ],
)
def test_a_meaning_changing_word_splits_close_candidates(changed: str) -> None:
    agreeing = TRANSLATION.aggregate(PAYLOAD, texts(RIGHT, RIGHT, RIGHT), [NEUTRAL] * 3)
    split = TRANSLATION.aggregate(PAYLOAD, texts(RIGHT, RIGHT, changed), [NEUTRAL] * 3)
    assert agreeing.agreed
    assert split.confidence < agreeing.confidence - 0.05
    assert [len(camp["members"]) for camp in split.details["camps"]] == [2, 1]
    # Two close candidates that differ so, alone, are not an agreement.
    pair = TRANSLATION.aggregate(PAYLOAD, texts(RIGHT, changed), [NEUTRAL] * 2)
    assert not pair.agreed


def test_paraphrases_with_the_same_marks_still_agree() -> None:
    paraphrase = "Doctor Awa Diallo says: in Dakar, take 2 tablets each day."
    verdict = TRANSLATION.aggregate(PAYLOAD, texts(RIGHT, paraphrase, RIGHT), [NEUTRAL] * 3)
    assert [len(camp["members"]) for camp in verdict.details["camps"]] == [3]


def test_the_evidence_credits_the_split_camps_apart() -> None:
    changed = "Take 3 tablets a day in Dakar, says doctor Awa Diallo."
    evidence = TRANSLATION.answer_evidence(PAYLOAD, texts(RIGHT, RIGHT, changed), [NEUTRAL] * 3)
    right, same, other = (found.right if found else None for found in evidence)
    assert right == same and right is not None and other is not None and other < right


@pytest.mark.parametrize(
    ("decided", "right"),
    [
        (RIGHT, True),
        ("Take 2 tablets each day in Dakar, doctor Awa Diallo says.", True),  # a paraphrase
        ("Take 3 tablets a day in Dakar, says doctor Awa Diallo.", False),  # a number
        ("Do not take 2 tablets a day in Dakar, says doctor Awa Diallo.", False),  # negation
        ("Take 2 pills a day in Dakar, says doctor Awa Diallo.", False),  # the glossary's term
        ("The clinic in Dakar closes early on Fridays.", False),  # another sentence
    ],
)
def test_a_gold_check_is_right_when_the_decision_means_what_the_gold_wording_means(
    decided: str, right: bool
) -> None:
    """The project's gold checks calibrate translation's confidence with this: a paraphrase of
    the gold wording is right (an exact score would call it wrong), a close wording with another
    number, negation or glossary term is not (the rule that splits two volunteers' camps)."""
    [answer, gold] = texts(decided, RIGHT)
    assert TRANSLATION.gold_check(PAYLOAD, answer, gold) is right
