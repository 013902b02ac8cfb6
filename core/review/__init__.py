"""Review: ``items`` (open, claim under a lease, decide, expire), ``reviewers`` (who reviews what,
claiming and deciding), ``settlement`` (what a decision turns into: the result, feedback, and
reputation evidence)."""
