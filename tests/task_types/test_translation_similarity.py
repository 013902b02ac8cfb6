"""The similarity measure behind translation agreement, on hand-made sentence pairs.

These pairs are what the 0.6 default threshold was chosen from: paraphrases score above it,
unrelated sentences well below it.
"""

from __future__ import annotations

import pytest

from task_types.translation.similarity import count_words, similarity, similarity_key

PARAPHRASES = [
    ("The meeting is tomorrow at noon.", "The meeting takes place tomorrow at midday."),
    ("La réunion aura lieu demain à midi.", "La réunion est prévue demain à midi."),
    ("La réunion aura lieu demain à midi.", "Demain à midi, la réunion aura lieu."),
    ("Please wash your hands before eating.", "Wash your hands before you eat, please."),
    ("Lavez-vous les mains avant de manger.", "Veuillez vous laver les mains avant les repas."),
    (
        "Bring your vaccination card to the clinic.",
        "Bring the vaccination card with you to the health centre.",
    ),
]
UNRELATED = [
    ("La réunion aura lieu demain à midi.", "Le chat dort sur le canapé du salon."),
    ("Please wash your hands before eating.", "The clinic opens at nine every morning."),
    ("Lavez-vous les mains avant de manger.", "La clinique ouvre à neuf heures chaque matin."),
    ("Bring your vaccination card to the clinic.", "Do not forget to drink clean water every day."),
]


def _sim(a: str, b: str) -> float:
    return similarity(similarity_key(a), similarity_key(b))


@pytest.mark.parametrize(("first", "second"), PARAPHRASES)
def test_paraphrases_score_above_the_default_threshold(first: str, second: str) -> None:
    assert _sim(first, second) >= 0.65


@pytest.mark.parametrize(("first", "second"), UNRELATED)
def test_unrelated_sentences_score_well_below_the_default_threshold(
    first: str, second: str
) -> None:
    assert _sim(first, second) <= 0.55


def test_similarity_ignores_case_punctuation_and_spacing() -> None:
    assert _sim("Bonjour, tout le monde !", "bonjour tout  le monde") == 1.0


def test_similarity_is_symmetric_and_bounded() -> None:
    a, b = PARAPHRASES[0]
    assert _sim(a, b) == _sim(b, a)
    assert 0.0 <= _sim(a, b) <= 1.0
    assert _sim("", "something") == 0.0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Wash your hands, please.", 4),
        ("  L'eau   potable — ici !  ", 3),
        ("会议明天中午举行", 8),
        ("Meet at 12:00 in 会议室", 7),
    ],
)
def test_count_words_counts_words_and_each_chinese_character(text: str, words: int) -> None:
    assert count_words(text) == words
