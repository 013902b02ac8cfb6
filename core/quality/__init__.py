"""Turning redundant answers into results: ``aggregation`` (decide, ask for more, or review),
``reputation_model`` and ``reputation`` (volunteers' reliabilities and the evidence that moves
them), ``gold`` (answers to gold tasks), ``outcomes`` (what the pipeline writes: resolution,
another answer slot, stats, feedback)."""
