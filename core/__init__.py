"""The kernel: state on Redis, grouped by domain. Imports neither FastAPI nor dramatiq.

==================  ==========================================================================
``core/redis/``     the key layout, the Lua script registry and shared prelude, the API's
                    multiplexed connection, the embedded ``redis-server`` launcher
``core/board/``     tasks, leases and answers: claim, heartbeat, release, submit, expiry, bulk
                    creation, a volunteer's live-assignment cap; the ``Board`` that runs them
``core/projects/``  projects and their policy: create, edit, the claim index, deadlines,
                    re-evaluation after a policy change, retention
``core/accounts/``  organisations, volunteers and bearer tokens
``core/volunteers/``  what a volunteer's work adds up to: stats and feedback
``core/review/``    review items (open, claim, decide, expire), reviewers, and what a decision
                    turns into (settlement)
``core/quality/``   aggregation of redundant answers, reputations, gold answers
``core/delivery/``  results (the cursor feed), webhook endpoints, delivery records, signing,
                    SSRF guard
``core/events/``    the outbox relay: every stream event handed on at least once
==================  ==========================================================================

Cross-cutting modules stay at the top: ``settings``, ``errors``, ``logging``, ``clock``,
``ids``, ``recent`` (short in-process memory), ``idempotency`` (idempotency keys).
A Lua script lives beside the Python of its domain (``core/board/claim.lua``);
:mod:`core.redis.scripts` finds and registers them.
"""
