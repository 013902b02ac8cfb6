"""Data entry's posterior model: a reading one slip away from another counts for it
(task_types.data_entry.posterior, NEAR_SUPPORT), choosing among typed readings without raising
the confidence that any of them is right (issue 15)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from task_types.data_entry import TASK_TYPE as DATA_ENTRY
from task_types.data_entry import DataEntryAnswer
from task_types.data_entry.normalise import read_value
from task_types.data_entry.posterior import error_spread, field_posterior, one_slip_apart
from task_types.data_entry.vote import Ballot
from task_types.reliability import Reliability, log_odds, posterior_from_scores

FORM = DATA_ENTRY.parse_payload(
    {
        "document": {"text": "donation slip"},
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "amount", "type": "number"},
            {"name": "paid", "type": "enum", "choices": ["cash", "card"]},
        ],
    }
)
NAME, AMOUNT, PAID = FORM.fields


def rows(*values: dict[str, Any]) -> list[DataEntryAnswer]:
    return [DataEntryAnswer(values=value) for value in values]


def equally(count: int, accuracy: float = 0.8) -> list[Reliability]:
    return [Reliability(accuracy=accuracy, evidence=40.0) for _ in range(count)]


@pytest.mark.parametrize(
    ("spec", "one", "other", "slip"),
    [
        (NAME, "moussa fall", "mousa fall", True),  # a letter dropped
        (NAME, "moussa fall", "mousssa fall", True),  # doubled
        (NAME, "moussa fall", "moussa fsll", True),  # mistyped
        (NAME, "moussa fall", "mosusa fall", True),  # two neighbours swapped
        (NAME, "moussa fall", "mouss fal", False),  # two slips
        (NAME, "moussa fall", "awa sow", False),
        (AMOUNT, "2502", "25020", True),  # a zero added
        (AMOUNT, "2938", "2918", True),
        (AMOUNT, "2938", "2839", False),
        (PAID, "cash", "card", False),  # a choice is picked, not typed: no slip
        (NAME, "awa sow", "awa sow", False),  # the same reading is no slip of itself
    ],
)
def test_one_slip_apart(spec: Any, one: str, other: str, slip: bool) -> None:
    assert one_slip_apart(spec, one, other) is slip
    assert one_slip_apart(spec, other, one) is slip


def test_the_reading_the_others_are_slips_of_wins_among_readings_nobody_shares() -> None:
    # Three equally reliable volunteers, three readings; the other two are each one slip from
    # "Moussa Fall" and two from each other. Without slips counting, alphabetical order
    # decided this tie ("mousssa fall" last).
    verdict = DATA_ENTRY.aggregate(
        FORM,
        rows(
            {"name": "Mousssa Fall", "amount": "10", "paid": "cash"},
            {"name": "Moussa Fall", "amount": "10", "paid": "cash"},
            {"name": "Mouss Fall", "amount": "10", "paid": "cash"},
        ),
        equally(3),
    )
    assert verdict.answer is not None
    assert verdict.answer["values"]["name"] == "Moussa Fall"
    # One backer each: still not agreed, whatever the slips say.
    assert not verdict.agreed
    assert "name" in verdict.details["without_quorum"]


def ballots(*readings: tuple[str, float]) -> list[Ballot]:
    found = []
    for index, (raw, weight) in enumerate(readings):
        reading = read_value(NAME, raw)
        assert reading is not None
        found.append(Ballot(index, weight, reading))
    return found


def test_slips_never_raise_the_confidence_that_a_typed_reading_is_right() -> None:
    """Every reading is near some slip: slips may share the typed readings' mass differently,
    not make it larger than readings that have nothing in common get."""
    near = field_posterior(NAME, ballots(("Awa Diallo", 0.7), ("Awa Dialo", 0.7)))
    apart = field_posterior(NAME, ballots(("Awa Diallo", 0.7), ("Fatou Ba", 0.7)))
    assert math.fsum(near.by_key.values()) == pytest.approx(math.fsum(apart.by_key.values()))
    # Two readings, each a slip of the other: neither is favoured.
    assert near.by_key["awa diallo"] == pytest.approx(near.by_key["awa dialo"])


def test_a_slip_does_not_outweigh_a_more_reliable_reading() -> None:
    # One careful volunteer against two careless ones whose readings are each a slip of the
    # other: the slips count for each other, but not enough to beat a long good record.
    post = field_posterior(
        NAME, ballots(("Awa Sow", 0.95), ("Fatou Ba", 0.55), ("Fatou Baa", 0.55))
    )
    assert post.key == "awa sow"
    assert post.by_key["fatou ba"] == pytest.approx(post.by_key["fatou baa"])


# Short names from few letters, so that readings one slip apart come up often.
slipped_names = st.text(alphabet="abo ", min_size=2, max_size=5).filter(lambda t: t.strip() != "")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(slipped_names, st.floats(min_value=0.05, max_value=0.95)), min_size=1, max_size=6
    )
)
def test_slips_only_share_out_what_the_typed_readings_hold(
    readings: list[tuple[str, float]],
) -> None:
    """Whatever the readings and weights: the typed readings hold together what the
    even-errors model gives them, and where no two of them are a slip apart each gets
    exactly what that model gives it."""
    spec = NAME
    found = [(read_value(spec, raw), weight) for raw, weight in readings]
    cast = [
        Ballot(index, weight, reading)
        for index, (reading, weight) in enumerate(found)
        if reading is not None
    ]
    if not cast:
        return
    post = field_posterior(spec, cast)
    keys = sorted(post.by_key)
    spread = max(error_spread(spec), len(keys) + 1)
    scores = [
        math.fsum(log_odds(b.weight, spread - 1) for b in cast if b.reading.key == key)
        for key in keys
    ]
    plain = posterior_from_scores(scores, unobserved=spread - len(keys))
    assert math.fsum(post.by_key.values()) == pytest.approx(math.fsum(plain), rel=1e-9)
    assert 0.0 <= post.probability <= 1.0
    assert post.probability == pytest.approx(max(post.by_key.values()))
    if not any(one_slip_apart(spec, a, b) for a in keys for b in keys):
        assert [post.by_key[key] for key in keys] == pytest.approx(plain, rel=1e-9)
