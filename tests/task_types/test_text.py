"""Shared text clean-up and comparison keys."""

from __future__ import annotations

import pytest

from task_types.text import clean_text, collapse_whitespace, fold


def test_clean_text_unifies_invisible_differences_but_keeps_paragraphs() -> None:
    decomposed = "Cafe\u0301  au\tlait \r\n\r\n\r\n\ufeffSecond\u200b paragraph  "
    assert clean_text(decomposed) == "Café au lait\n\nSecond paragraph"


def test_collapse_whitespace_puts_everything_on_one_line() -> None:
    assert collapse_whitespace("  Awa \n\u00a0 Diallo\u202f ") == "Awa Diallo"


@pytest.mark.parametrize(
    ("first", "second"),
    [("José", "JOSE"), ("Zoë  Ngozi", "zoe ngozi"), ("Ёлка", "елка"), ("STRASSE", "straße")],
)
def test_fold_ignores_case_and_accents(first: str, second: str) -> None:
    assert fold(first) == fold(second)


def test_fold_keeps_indic_vowel_signs_which_change_the_word() -> None:
    # "कुल" (kul, "total") and "कल" (kal, "tomorrow") differ by a vowel sign of category Mn,
    # which a strip-every-combining-mark fold would delete.
    assert fold("\u0915\u0941\u0932") != fold("\u0915\u0932")
