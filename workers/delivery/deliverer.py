"""Delivering results to an organisation's webhook: attempts, retries, and what is recorded.

A ``result.published`` event reaches :meth:`Deliverer.on_result` (actor ``results.deliver``).
It finds the project's organisation and endpoint, creates the delivery — record, stored body and
due-set member, all idempotent (:mod:`core.delivery.records`) — and makes the first attempt at
once. Later attempts come through the due set: the scheduler's tick takes what is due
(:mod:`workers.delivery.dispatch`) and sends ``results.deliver_due`` messages, which reach
:meth:`Deliverer.on_due`.

Decisions, per reply:

============================  =============================================================
2xx                           ``delivered``
410 Gone                      ``disabled``; the endpoint is marked disabled and none of its
                              deliveries is attempted again until the webhook is set again
                              (a new secret), then ``redeliver`` sends them
3xx (never followed), 429,    retried on the schedule of :mod:`workers.delivery.retries`;
5xx, other 4xx, timeouts,     ``Retry-After`` postpones the next attempt, up to a day. Other 4xx
connection and TLS errors,    are retried too: the NGO may fix their endpoint within the
a refused (SSRF) target       three days, and an answer we cannot tell apart from a bug on
                              their side is no reason to drop a result
retries used up               ``failed`` (``redeliver`` makes one more attempt)
============================  =============================================================

No endpoint when the event is handled: nothing is recorded (the organisation reads results by
cursor or export; a webhook set later is not sent the past). The endpoint removed while a
delivery waits: that delivery ends ``failed``.

Guarantee: at least once, with a stable ``webhook-id``. One attempt at a time per delivery (the
due-set claim); a duplicate event or message, in sequence or concurrently, makes no second POST.
A second POST of the same delivery happens only when a worker dies after the receiver got the
request but before the outcome was written, or when a redelivery is asked for — and it carries
the same ``webhook-id`` and the same body, for the receiver to drop.

A worker killed mid-attempt: the broker gives its message to another worker within seconds
(``workers.broker``), and that message takes its own attempt back at once — its claim was
recorded under the message's id and stopped being renewed when the worker died
(:mod:`workers.delivery.renewals`) — rather than waiting out ``ATTEMPT_LEASE_MS``. Any other
message (a duplicate event, the scheduler's) still waits for the lease, and a run that is still
renewing is never overlapped: a message that finds its own earlier run alive waits a moment
for it to stop, then leaves the delivery to it.
"""

from __future__ import annotations

import contextlib
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import redis
import structlog
from dramatiq.middleware import CurrentMessage

from core.delivery.records import DeliveryStore, EndpointState
from core.delivery.signing import delivery_id, event_body, signed_headers
from core.delivery.ssrf import Resolver, system_resolver
from core.delivery.webhooks import Delivery
from core.redis.clients import redis_client
from core.redis.keys import Keys
from core.settings import Settings
from workers.delivery.renewals import Renewals
from workers.delivery.retries import parse_retry_after, retry_delay_s
from workers.delivery.webhook_client import HttpLimits, Reply, post
from workers.metrics import DELIVERIES

__all__ = [
    "ATTEMPT_ALIVE_MS",
    "ATTEMPT_LEASE_MS",
    "ATTEMPT_RENEW_S",
    "DELIVER",
    "DELIVER_DUE",
    "QUEUE",
    "Deliverer",
    "current_message_id",
]

log = structlog.get_logger(__name__)

#: Stable names: messages already in Redis keep finding their actor after a refactor.
DELIVER = "results.deliver"
DELIVER_DUE = "results.deliver_due"
QUEUE = "results"

#: How long an attempt holds its delivery: more than an attempt can last (HttpLimits.total_s),
#: and how soon a delivery whose worker died is tried again by any message but its own (which,
#: delivered again by the broker, takes it back at once: see ATTEMPT_ALIVE_MS).
ATTEMPT_LEASE_MS = 30_000
#: An attempt made for a dramatiq message renews its claim every ATTEMPT_RENEW_S and counts as
#: dead ATTEMPT_ALIVE_MS after the last renewal: before the broker hands a dead worker's message
#: to another (workers.broker.HEARTBEAT_TIMEOUT_MS, 5 s), which then takes the attempt back.
ATTEMPT_ALIVE_MS = 3_000
ATTEMPT_RENEW_S = 1.0
#: How often a message whose own earlier run still holds its attempt looks again (it gives up
#: after ATTEMPT_ALIVE_MS and a poll: that run is alive, and finishes the attempt itself).
_ALIVE_POLL_S = 0.25
_ALIVE_POLLS = int(ATTEMPT_ALIVE_MS / 1000 / _ALIVE_POLL_S) + 2

_DISABLED = "the endpoint answered 410 Gone and is disabled; set the webhook again to re-enable it"


def current_message_id() -> str | None:
    """The id of the dramatiq message this thread is handling (``CurrentMessage``, which
    ``workers.broker`` installs), or None outside a worker."""
    message = CurrentMessage.get_current_message()
    return None if message is None else str(message.message_id)


@dataclass(frozen=True, slots=True)
class _Claim:
    """An attempt's hold on its delivery: the claim token, and the message it was made for."""

    token: int
    message_id: str | None


@dataclass
class Deliverer:
    """Everything an attempt needs; one per worker process (see ``workers.actors.deliver``)."""

    store: DeliveryStore
    allow_private: bool = False
    clock: Callable[[], float] = time.time  # seconds; signs timestamps and schedules retries
    resolver: Resolver = system_resolver
    limits: HttpLimits = field(default_factory=HttpLimits)
    verify: ssl.SSLContext | bool = True
    rng: random.Random = field(default_factory=random.SystemRandom)
    #: Which dramatiq message the calling thread handles (None: its claims are not recorded).
    message_id: Callable[[], str | None] = current_message_id
    attempt_lease_ms: int = ATTEMPT_LEASE_MS
    _renewals: Renewals = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._renewals = Renewals(self.store, every_s=ATTEMPT_RENEW_S, alive_ms=ATTEMPT_ALIVE_MS)

    @classmethod
    def from_settings(cls, settings: Settings) -> Deliverer:
        client = redis_client(settings, "webhook delivery", connect_timeout_s=5, timeout_s=10)
        store = DeliveryStore(client, Keys(settings.key_prefix))
        return cls(store, allow_private=settings.webhook_allow_private)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- entry points (the actors) --------------------------------------------------------------

    def on_result(self, project_id: str, result_id: str) -> Reply | None:
        """A result was published: create its delivery (once) and make the first attempt.

        Returns the attempt's reply, or None when this call made no attempt (no endpoint, or
        another call holds or already finished the delivery).
        """
        org_id = self.store.project_org(project_id)
        if org_id is None:
            log.warning("webhook.unknown_project", project_id=project_id)
            return None
        if self.store.endpoint(org_id) is None:
            log.info("webhook.no_endpoint", org_id=org_id, project_id=project_id)
            return None
        entry = self.store.result(project_id, result_id)
        if entry is None:
            log.warning("webhook.result_missing", project_id=project_id, result_id=result_id)
            return None
        now = self.now_ms()
        record = Delivery(
            delivery_id=delivery_id(org_id, project_id, result_id),
            project_id=project_id,
            task_id=entry.task_id,
            result_id=result_id,
            status="pending",
            attempts=0,
            last_error=None,
            next_attempt_at_ms=now,
            created_at_ms=now,
        )
        body = event_body(project_id, entry)
        if self.store.create(org_id, record, body, due_ms=now):
            return self._attempt(org_id, record.delivery_id, expected=now)
        self.store.ensure_due(org_id, record.delivery_id, now)
        return self._attempt(org_id, record.delivery_id, expected=None)

    def on_due(self, org_id: str, delivery_id: str, token: int | None = None) -> Reply | None:
        """A retry or redelivery is due (sent by the scheduler with the score it set)."""
        return self._attempt(org_id, delivery_id, expected=token)

    # -- one attempt ----------------------------------------------------------------------------

    def _attempt(self, org_id: str, delivery_id: str, expected: int | None) -> Reply | None:
        message_id = self.message_id()
        token = self._claim(org_id, delivery_id, expected, message_id)
        if token is None:
            log.debug("webhook.not_claimed", org_id=org_id, delivery_id=delivery_id)
            return None
        claim = _Claim(token, message_id)
        if message_id is None:
            return self._attempt_claimed(org_id, delivery_id, claim)
        held = self._renewals.hold(message_id, token)
        try:
            return self._attempt_claimed(org_id, delivery_id, claim)
        except BaseException:
            # Stopped without finishing (Redis away, the time limit): the message, retried by
            # dramatiq, may take the attempt back at once. Best effort: the mark lapses anyway.
            self._renewals.drop(held)
            with contextlib.suppress(redis.RedisError):
                self.store.renew(message_id, token, 0)
            raise
        finally:
            self._renewals.drop(held)

    def _claim(
        self, org_id: str, delivery_id: str, expected: int | None, message_id: str | None
    ) -> int | None:
        """The claim token, or None; waits a moment when this message's own earlier run still
        holds the attempt (the same message running twice: it may be about to stop)."""
        for _ in range(_ALIVE_POLLS):
            claim = self.store.claim_attempt(
                org_id,
                delivery_id,
                self.now_ms(),
                self.attempt_lease_ms,
                expected,
                message_id=message_id,
                alive_ms=ATTEMPT_ALIVE_MS,
            )
            if not claim.held_by_live_run:
                return claim.token
            time.sleep(_ALIVE_POLL_S)
        log.info("webhook.held_by_live_run", org_id=org_id, delivery_id=delivery_id)
        return None

    def _attempt_claimed(self, org_id: str, delivery_id: str, claim: _Claim) -> Reply | None:
        record = self.store.record(org_id, delivery_id)
        if record is None or record.status != "pending":
            # Finished already (a worker died between writing the record and the due set), or
            # an orphan member: nothing to send.
            self._finish(org_id, delivery_id, claim, None)
            return None
        endpoint = self.store.endpoint(org_id)
        body = self.store.body(org_id, delivery_id)
        if endpoint is None or endpoint.disabled or body is None:
            self._end_unsent(org_id, record, claim, endpoint, body)
            return None
        headers = signed_headers(endpoint.secret, delivery_id, int(self.clock()), body)
        reply = post(
            endpoint.url,
            body,
            headers,
            allow_private=self.allow_private,
            resolver=self.resolver,
            limits=self.limits,
            verify=self.verify,
        )
        self._record_reply(org_id, record, claim, endpoint, reply)
        return reply

    def _end_unsent(
        self,
        org_id: str,
        record: Delivery,
        claim: _Claim,
        endpoint: EndpointState | None,
        body: bytes | None,
    ) -> None:
        if endpoint is None:
            status, reason = "failed", "no webhook endpoint is set"
        elif endpoint.disabled:
            status, reason = "disabled", _DISABLED
        else:
            status, reason = "failed", "the event body is missing"
        self._save(org_id, replace(record, status=status, last_error=reason), claim, None)
        DELIVERIES.labels(status).inc()
        log.warning(
            "webhook.not_sent", org_id=org_id, delivery_id=record.delivery_id, reason=reason
        )

    def _record_reply(
        self, org_id: str, record: Delivery, claim: _Claim, endpoint: EndpointState, reply: Reply
    ) -> None:
        attempts = record.attempts + 1
        context = {
            "org_id": org_id,
            "delivery_id": record.delivery_id,
            "attempt": attempts,
            "status": reply.status,
            "bytes_read": reply.bytes_read,
        }
        now = self.now_ms()
        if reply.delivered:
            done = replace(record, status="delivered", attempts=attempts, last_error=None)
            self._save(org_id, done, claim, None)
            DELIVERIES.labels("delivered").inc()
            log.info("webhook.delivered", **context)
            return
        if reply.status == 410:
            self.store.disable_endpoint(org_id, endpoint.secret, now)
            gone = replace(record, status="disabled", attempts=attempts, last_error=_DISABLED)
            self._save(org_id, gone, claim, None)
            DELIVERIES.labels("disabled").inc()
            log.warning("webhook.endpoint_disabled", **context)
            return
        retry_after = parse_retry_after(reply.retry_after, self.clock())
        delay = retry_delay_s(attempts, self.rng, retry_after)
        if delay is None:
            error = f"{reply.error}; gave up after {attempts} attempts"
            failed = replace(record, status="failed", attempts=attempts, last_error=error)
            self._save(org_id, failed, claim, None)
            DELIVERIES.labels("failed").inc()
            log.warning("webhook.gave_up", error=reply.error, **context)
            return
        next_ms = now + int(delay * 1000)
        waiting = replace(record, status="pending", attempts=attempts, last_error=reply.error)
        self._save(org_id, waiting, claim, next_ms)
        DELIVERIES.labels("retrying").inc()
        log.info("webhook.attempt_failed", error=reply.error, retry_in_s=round(delay, 1), **context)

    def _save(self, org_id: str, record: Delivery, claim: _Claim, next_ms: int | None) -> None:
        """Record first, due set second: a crash in between re-runs a finished delivery's
        attempt, which then only sees the record and stops (see :meth:`_attempt_claimed`)."""
        self.store.save(org_id, replace(record, next_attempt_at_ms=next_ms))
        self._finish(org_id, record.delivery_id, claim, next_ms)

    def _finish(self, org_id: str, delivery_id: str, claim: _Claim, next_ms: int | None) -> None:
        self.store.finish(org_id, delivery_id, claim.token, next_ms, message_id=claim.message_id)
