"""The task board: tasks, leases and answers.

- ``matching``: which projects fit a volunteer (languages, skills, reputation floors), best
  first; ``claims``: a volunteer claiming work (the live-assignment cap) and each call an
  assignment goes through (heartbeat, submit, release); ``claim.lua`` picks the task (its order,
  ``ready_score``, is in ``core/redis/_prelude.lua``).
- ``operations``: the board's operations as values; ``script_calls``: what an operation is;
  ``runner``: ``Board`` and ``AsyncBoard``, which run them; ``models``: typed values in and out.
- ``slots``: a volunteer's live-assignment set; ``answers``: validating an answer;
  ``bulk``: bulk task submission.
"""
