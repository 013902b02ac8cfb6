"""The refit's Dawid-Skene EM (core.quality.dawid_skene), pure: it finds who is reliable from the
answers alone, keeps the class prior fixed, and learns nothing about a class nobody decided."""

from __future__ import annotations

import random

from core.quality.dawid_skene import fit

LABELS = ["ok", "spam"]


def test_a_random_answerer_among_reliable_ones_is_found_out() -> None:
    rng = random.Random(15)
    tasks, truths = [], []
    for _ in range(300):
        truth = "ok" if rng.random() < 0.7 else "spam"
        wrong = "spam" if truth == "ok" else "ok"
        votes = [(f"good{i}", truth if rng.random() < 0.9 else wrong) for i in range(3)]
        votes.append(("coin", rng.choice(LABELS)))
        tasks.append(votes)
        truths.append(truth)

    found = fit(LABELS, tasks, prior={"ok": 70, "spam": 30})

    assert found.converged
    decided = [LABELS[max(range(2), key=p.__getitem__)] for p in found.posteriors]
    assert sum(d == t for d, t in zip(decided, truths, strict=True)) / len(truths) > 0.95
    coin, good = found.counts["coin"], found.counts["good0"]
    coin_right = coin["ok"]["ok"] / sum(coin["ok"].values())
    good_right = good["ok"]["ok"] / sum(good["ok"].values())
    assert good_right > 0.85 and 0.35 < coin_right < 0.65


def test_a_class_nobody_decided_gets_no_counts() -> None:
    tasks = [[(f"v{i}", "ok") for i in range(3)] for _ in range(500)]
    found = fit(LABELS, tasks)
    assert all(set(rows) == {"ok"} for rows in found.counts.values())
    # What three unanimous answers say when the spam row is still at its prior (0.7 right).
    assert min(p[0] for p in found.posteriors) > 0.97


def test_gold_answers_count_in_their_true_row_and_lone_answers_teach_nothing() -> None:
    found = fit(LABELS, [[("v1", "spam")]], [("v1", "ok", "spam")])
    assert found.counts == {"v1": {"spam": {"ok": 1.0}}}


def test_it_stops_at_its_iteration_bound() -> None:
    tasks = [[("a", "ok"), ("b", "spam"), ("c", "ok")] for _ in range(50)]
    found = fit(LABELS, tasks, max_iterations=1)
    assert found.iterations == 1 and len(found.posteriors) == 50
