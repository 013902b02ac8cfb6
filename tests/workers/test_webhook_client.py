"""The webhook client's TLS context: certificate checking on, and built once per process.

Regression: every attempt used to build a new verifying context, loading the whole CA bundle
(about 15 ms of CPU) — most of an attempt's cost on loopback, and the pipeline's bottleneck in
bench/pipeline.py.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from core.delivery.ssrf import system_resolver
from tests.support.delivery import TEST_LIMITS, receiving
from workers.delivery import webhook_client
from workers.delivery.webhook_client import post, trusted_tls_context


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ssl.SSLContext]]:
    """Every default TLS context built from now on (the process's cached one forgotten)."""
    made: list[ssl.SSLContext] = []
    original = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = original(*args, **kwargs)
        made.append(context)
        return context

    trusted_tls_context.cache_clear()
    monkeypatch.setattr(ssl, "create_default_context", counting)
    try:
        yield made
    finally:
        trusted_tls_context.cache_clear()


def test_the_trusted_context_checks_certificates_and_host_names() -> None:
    context = trusted_tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # a CA bundle is loaded


def test_attempts_share_one_verifying_context(built: list[ssl.SSLContext]) -> None:
    with receiving() as receiver:
        for _ in range(3):
            reply = post(
                receiver.url,
                b"{}",
                {"content-type": "application/json"},
                allow_private=True,
                resolver=system_resolver,
                limits=TEST_LIMITS,
            )
            assert reply.delivered, reply.error
    assert len(receiver.requests) == 3
    assert built == [webhook_client.trusted_tls_context()]  # one context, built once
