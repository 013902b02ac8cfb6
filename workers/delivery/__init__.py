"""Webhook delivery, the worker side: ``deliverer`` (one attempt and what it records),
``retries`` (the retry schedule and ``Retry-After``), ``dispatch`` (the scheduler sending what is
due), ``renewals`` (keeping live attempts known), ``webhook_client`` (the SSRF-safe POST)."""
