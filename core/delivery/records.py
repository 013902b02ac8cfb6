"""The Redis side of webhook delivery: records, stored bodies, the due set and endpoint state.

One delivery is one result sent to one organisation. Its state lives in four places, each
written with a single-key atomic command, in an order that is safe to interrupt anywhere:

1. ``G:org:<org>:delivery_bodies`` (HSETNX) — the signed body, built once;
2. ``G:org:<org>:deliveries`` (HSETNX) — the record the API lists
(:class:`core.delivery.webhooks.Delivery`); 3. ``G:org:<org>:delivery_log`` (ZADD NX) —
newest-first listing; 4. ``G:webhook:due`` (ZADD NX) — member ``<org>|<delivery>``: "this delivery
still needs an
   attempt, at this time (ms)".

The due set is the only lock. An attempt first *claims* its member (``webhook_claim.lua``: due
now, or carrying the score the sender expected), which pushes the member one lease ahead; the
attempt then *finishes* it (``webhook_finish.lua``): removed when delivered, failed or disabled,
moved to the next attempt's time otherwise. A worker that dies mid-attempt leaves the member
leased; when the lease runs out the scheduler sends it again. Steps 1 to 4 happen before any message
is acknowledged, so a worker dying before step 4 has its message redelivered by the broker and
the repeated, idempotent steps complete it.

The broker also redelivers the message of a worker that died *during* the attempt, seconds
later, and that message need not wait for the lease: a claim made for a dramatiq message is
recorded under the message's id (``G:{G:webhook:due}:attempt:<message-id>``: member, token,
and ``alive_until``, which the running attempt renews every second), and the same message
takes its own claim back at once when that renewal has stopped (``webhook_claim.lua``). Any
other message still waits for the lease, and a run that is still renewing is never overlapped,
not even by a second run of the same message: at most one live attempt per delivery.

The keys sit outside project slots (organisation keys carry no hash tag), so no script touches
two of them: each Lua script here reads and writes one key — or the due set and an attempt
record, which share its cluster slot — and the Python side orders the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis

from core.board.operations import text
from core.delivery.results import ResultEntry, parse_result_entry
from core.delivery.webhooks import Delivery
from core.redis.keys import Keys
from core.redis.scripts import lua_source

__all__ = [
    "AttemptClaim",
    "DeliveryStore",
    "DueDelivery",
    "EndpointState",
    "due_member",
    "secret_fingerprint",
    "split_due_member",
]

_SCRIPTS = (
    "webhook_claim",
    "webhook_finish",
    "webhook_renew",
    "webhook_dispatch",
    "webhook_disable",
)


@cache
def _source(name: str) -> str:
    return lua_source(name)


def due_member(org_id: str, delivery_id: str) -> str:
    return f"{org_id}|{delivery_id}"


def split_due_member(member: str) -> tuple[str, str] | None:
    org_id, sep, delivery_id = member.partition("|")
    return (org_id, delivery_id) if sep and org_id and delivery_id else None


def secret_fingerprint(secret: str) -> str:
    """Names one endpoint version without storing its secret twice."""
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class EndpointState:
    url: str
    secret: str = ""
    disabled_at_ms: int | None = None  # set when it answered 410 (until it is set again)

    def __repr__(self) -> str:  # never print the secret
        return f"EndpointState(url={self.url!r}, disabled_at_ms={self.disabled_at_ms!r})"

    @property
    def disabled(self) -> bool:
        return self.disabled_at_ms is not None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery the scheduler took from the due set; ``token`` is the score to expect."""

    org_id: str
    delivery_id: str
    token: int


@dataclass(frozen=True, slots=True)
class AttemptClaim:
    """What a claim came to: ``token`` when taken; otherwise, whether the claiming message's own
    earlier run holds the attempt and is still renewing it (it may yet stop: worth a wait)."""

    token: int | None
    held_by_live_run: bool = False


class DeliveryStore:
    """Typed access to a delivery's keys (synchronous client: workers and the scheduler)."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._scripts = {name: client.register_script(_source(name)) for name in _SCRIPTS}

    # -- what a result's event needs ------------------------------------------------------------

    def project_org(self, project_id: str) -> str | None:
        """The organisation owning ``project_id`` (from the project document), if known."""
        raw = self.client.hget(self.keys.project(project_id).project, "doc")
        if raw is None:
            return None
        org_id = json.loads(text(raw)).get("org_id")
        return str(org_id) if org_id else None

    def result(self, project_id: str, result_id: str) -> ResultEntry | None:
        """One entry of the project's results feed, or None when it is not (or no longer) there."""
        replies: Any = self.client.xrange(
            self.keys.project(project_id).results, result_id, result_id, count=1
        )
        if not replies:
            return None
        return parse_result_entry(*replies[0])

    # -- the endpoint ---------------------------------------------------------------------------

    def endpoint(self, org_id: str) -> EndpointState | None:
        raw = self.client.hgetall(self.keys.org_webhook(org_id))
        fields = {text(k): text(v) for k, v in raw.items()}
        if "url" not in fields or "secret" not in fields:
            return None
        secret = fields["secret"]
        disabled = fields.get("disabled_for") == secret_fingerprint(secret)
        return EndpointState(
            fields["url"], secret, int(fields.get("disabled_at", 0)) if disabled else None
        )

    def disable_endpoint(self, org_id: str, secret: str, now_ms: int) -> bool:
        """Mark the endpoint that has ``secret`` disabled; False when it changed meanwhile."""
        script = self._scripts["webhook_disable"]
        reply = script(
            keys=[self.keys.org_webhook(org_id)],
            args=[secret, secret_fingerprint(secret), now_ms],
        )
        return bool(int(reply))

    # -- records --------------------------------------------------------------------------------

    def create(self, org_id: str, delivery: Delivery, body: bytes, due_ms: int) -> bool:
        """Steps 1 to 4 of the module docstring; False (nothing new) when the record existed.

        The due member is only added along with a new record; :meth:`ensure_due` covers a
        creator that died between the two.
        """
        self.client.hsetnx(self.keys.org_delivery_bodies(org_id), delivery.delivery_id, body)
        created = bool(
            self.client.hsetnx(
                self.keys.org_deliveries(org_id), delivery.delivery_id, delivery.to_json()
            )
        )
        if not created:
            return False
        self.client.zadd(
            self.keys.org_delivery_log(org_id),
            {delivery.delivery_id: delivery.created_at_ms},
            nx=True,
        )
        self.client.zadd(
            self.keys.webhook_due, {due_member(org_id, delivery.delivery_id): due_ms}, nx=True
        )
        return True

    def ensure_due(self, org_id: str, delivery_id: str, due_ms: int) -> bool:
        """Re-add the due member of a record still pending that has none; True when added.

        The due set is read before the record: a finishing attempt writes its record before it
        removes its member, so "no member" followed by "pending" means the member was never
        added (its creator died in between) or a redelivery is being asked for right now.
        """
        member = due_member(org_id, delivery_id)
        if self.client.zscore(self.keys.webhook_due, member) is not None:
            return False
        record = self.record(org_id, delivery_id)
        if record is None or record.status != "pending":
            return False
        return bool(self.client.zadd(self.keys.webhook_due, {member: due_ms}, nx=True))

    def record(self, org_id: str, delivery_id: str) -> Delivery | None:
        raw = self.client.hget(self.keys.org_deliveries(org_id), delivery_id)
        return None if raw is None else Delivery.from_json(raw)

    def save(self, org_id: str, delivery: Delivery) -> None:
        """Overwrite the record (its listing entry is already there)."""
        self.client.hset(self.keys.org_deliveries(org_id), delivery.delivery_id, delivery.to_json())

    def body(self, org_id: str, delivery_id: str) -> bytes | None:
        raw = self.client.hget(self.keys.org_delivery_bodies(org_id), delivery_id)
        if raw is None:
            return None
        return raw.encode() if isinstance(raw, str) else bytes(raw)

    # -- the due set ----------------------------------------------------------------------------

    def due_at(self, org_id: str, delivery_id: str) -> int | None:
        score = self.client.zscore(self.keys.webhook_due, due_member(org_id, delivery_id))
        return None if score is None else int(score)

    def claim(
        self, org_id: str, delivery_id: str, now_ms: int, lease_ms: int, expected: int | None
    ) -> int | None:
        """Take the next attempt of a delivery; its claim token, or None when not ours to make."""
        return self.claim_attempt(org_id, delivery_id, now_ms, lease_ms, expected).token

    def claim_attempt(
        self,
        org_id: str,
        delivery_id: str,
        now_ms: int,
        lease_ms: int,
        expected: int | None,
        *,
        message_id: str | None = None,
        alive_ms: int = 0,
    ) -> AttemptClaim:
        """:meth:`claim`, recorded under ``message_id`` when given (see the module docstring):
        the claim counts as alive for ``alive_ms`` from now, until :meth:`renew` extends it."""
        keys = [self.keys.webhook_due]
        if message_id is not None:
            keys.append(self.keys.webhook_attempt(message_id))
        reply = self._scripts["webhook_claim"](
            keys=keys,
            args=[
                due_member(org_id, delivery_id),
                now_ms,
                now_ms + lease_ms,
                "" if expected is None else int(expected),
                int(alive_ms),
            ],
        )
        if reply is None:
            return AttemptClaim(None)
        if text(reply) == "alive":
            return AttemptClaim(None, held_by_live_run=True)
        return AttemptClaim(int(float(text(reply))))

    def renew(self, message_id: str, token: int, alive_ms: int) -> bool:
        """The run holding ``token`` for ``message_id`` is alive for ``alive_ms`` more (0: it
        stopped without finishing); False when the record is no longer that run's."""
        reply = self._scripts["webhook_renew"](
            keys=[self.keys.webhook_attempt(message_id)], args=[token, int(alive_ms)]
        )
        return bool(int(reply))

    def finish(
        self,
        org_id: str,
        delivery_id: str,
        token: int,
        next_ms: int | None,
        *,
        message_id: str | None = None,
    ) -> bool:
        """End a claimed attempt: remove the member, or move it to ``next_ms``; and forget the
        claim's record under ``message_id``, if it was made for a message."""
        keys = [self.keys.webhook_due]
        if message_id is not None:
            keys.append(self.keys.webhook_attempt(message_id))
        reply = self._scripts["webhook_finish"](
            keys=keys,
            args=[due_member(org_id, delivery_id), token, "" if next_ms is None else next_ms],
        )
        return bool(int(reply))

    def take_due(self, now_ms: int, lease_ms: int, limit: int) -> list[DueDelivery]:
        """Up to ``limit`` due deliveries, each pushed ``lease_ms`` ahead (see the script)."""
        token = now_ms + lease_ms
        members: Sequence[Any] = self._scripts["webhook_dispatch"](
            keys=[self.keys.webhook_due], args=[now_ms, token, max(1, int(limit))]
        )
        taken: list[DueDelivery] = []
        for member in members:
            parts = split_due_member(text(member))
            if parts is None:
                self.client.zrem(self.keys.webhook_due, member)  # not ours to understand
                continue
            taken.append(DueDelivery(parts[0], parts[1], token))
        return taken
