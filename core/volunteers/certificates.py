"""Certificates of volunteering: what a person did (hours and work per organisation and task
type, reviews included), issued once, signed by the server, public by an unguessable id, and
revocable by the operator.

A certificate is a record ``{id, volunteer_id, figures, issued_at}`` whose canonical JSON (keys
sorted, no spaces) is signed with the server's key for the purpose ``certificate`` (the caller
passes its :class:`Signer`: the pages' ``web.secret.ServerSecret``). It is stored as issued in
``G:certificate:<id>`` (fields ``record``, ``signature``, and ``revoked_at`` once revoked), and
listed in the person's ``G:vol:<id>:certificates``. Anyone with the id can check it: it is
*genuine* when the signature matches the record as stored and it is not revoked. Changing a
figure in Redis breaks the signature.

Issuing: the person's latest certificate is given again as long as the figures it states are
still their figures (a reload, a second visit on another day); once the figures changed (more
work done, a name changed) a new certificate is issued, and the older ones stay valid for what
they state on their date. A revoked certificate whose figures still hold is given again as it
is (revoked), so revoking a certificate is not undone by visiting the page.

Ids are ``crt_`` and 32 hex digits: 128 random bits, so a certificate cannot be found by
guessing. Figures are stored rounded to whole minutes, so what was signed is what is shown.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio

from core.board.script_calls import text
from core.errors import CertificateNotFound
from core.redis.keys import Keys
from core.volunteers.stats import VolunteerStats, WorkLine, read_stats, read_work

__all__ = [
    "CERTIFICATE_ID",
    "SIGNING_PURPOSE",
    "Certificate",
    "Certificates",
    "Signer",
    "canonical_json",
    "figures_of",
    "new_certificate_id",
]

CERTIFICATE_ID = re.compile(r"^crt_[0-9a-f]{32}$")
SIGNING_PURPOSE = "certificate"
#: Certificates remembered per person (the oldest go from the list, not from their key).
CERTIFICATES_LISTED = 50


class Signer(Protocol):
    async def sign(self, purpose: str, message: str) -> str: ...

    async def verify(self, purpose: str, message: str, signature: str) -> bool: ...


def new_certificate_id() -> str:
    return "crt_" + secrets.token_hex(16)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Certificate:
    id: str
    volunteer_id: str
    figures: dict[str, Any]
    issued_at_ms: int
    revoked_at_ms: int | None
    #: The signature matches the record as stored (revoked or not).
    signed: bool

    @property
    def genuine(self) -> bool:
        return self.signed and self.revoked_at_ms is None

    @property
    def name(self) -> str:
        return str(self.figures.get("name", ""))

    @property
    def lines(self) -> list[dict[str, Any]]:
        lines = self.figures.get("lines")
        return [line for line in lines if isinstance(line, dict)] if isinstance(lines, list) else []

    @property
    def totals(self) -> dict[str, int]:
        totals = self.figures.get("totals")
        if not isinstance(totals, dict):
            return {}
        return {str(k): v for k, v in totals.items() if isinstance(v, int)}


def figures_of(
    name: str,
    stats: VolunteerStats,
    work: list[WorkLine],
    organisation_names: Mapping[str, str],
    units: Mapping[str, str],
) -> dict[str, Any]:
    """What a certificate states: the name, one line per organisation and task type, and the
    totals. Work counted before per-organisation records existed is one line of its own with
    no organisation (``org_id`` "")."""
    lines = [
        {
            "org_id": line.org_id,
            "organisation": organisation_names.get(line.org_id, ""),
            "task_type": line.task_type,
            "unit": units.get(line.task_type, ""),
            "tasks": line.tasks,
            "minutes": line.minutes,
            "amount": line.amount,
            "reviews": line.reviews,
            "review_minutes": line.review_minutes,
        }
        for line in work
    ]
    earlier = {
        "tasks": stats.tasks - sum(line.tasks for line in work),
        "minutes": stats.minutes - sum(line.minutes for line in work),
        "reviews": stats.reviews - sum(line.reviews for line in work),
        "review_minutes": stats.review_minutes - sum(line.review_minutes for line in work),
    }
    # Per-line minutes are rounded down one by one: a few minutes of remainder are rounding.
    if earlier["tasks"] > 0 or earlier["reviews"] > 0:
        lines.append(
            {
                "org_id": "",
                "organisation": "",
                "task_type": "",
                "unit": "",
                "amount": 0,
                **{key: max(0, value) for key, value in earlier.items()},
            }
        )
    totals = {
        key: sum(int(str(line[key])) for line in lines)
        for key in ("tasks", "minutes", "reviews", "review_minutes")
    }
    return {"name": name, "lines": lines, "totals": totals}


class Certificates:
    """Issuing, checking and revoking certificates over an asyncio Redis client."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        keys: Keys,
        signer: Signer | None = None,
        *,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        self.client = client
        self.keys = keys
        self.signer = signer
        self.clock = clock

    def _signer(self) -> Signer:
        if self.signer is None:
            raise RuntimeError("issuing or checking a certificate needs the server's signer")
        return self.signer

    async def current_figures(
        self,
        volunteer_id: str,
        name: str,
        organisation_name: Callable[[str], Any],
        units: Mapping[str, str],
    ) -> dict[str, Any]:
        """The person's figures now. ``organisation_name`` is an async callable giving an
        organisation's name ("" once it is gone)."""
        stats = await read_stats(self.client, self.keys, volunteer_id, self.clock())
        work = await read_work(self.client, self.keys, volunteer_id)
        names: dict[str, str] = {}
        for line in work:
            if line.org_id not in names:
                names[line.org_id] = str(await organisation_name(line.org_id))
        return figures_of(name, stats, work, names, units)

    async def issue(self, volunteer_id: str, figures: dict[str, Any]) -> Certificate:
        """The person's latest certificate if it states ``figures``, else a new one."""
        latest = await self.latest(volunteer_id)
        if latest is not None and latest.signed and latest.figures == figures:
            return latest
        certificate_id = new_certificate_id()
        issued_at = self.clock()
        record = {
            "id": certificate_id,
            "volunteer_id": volunteer_id,
            "figures": figures,
            "issued_at": issued_at,
        }
        body = canonical_json(record)
        signature = await self._signer().sign(SIGNING_PURPOSE, body)
        listed = self.keys.volunteer_certificates(volunteer_id)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(
                self.keys.certificate(certificate_id),
                mapping={"record": body, "signature": signature},
            )
            pipe.zadd(listed, {certificate_id: issued_at})
            pipe.zremrangebyrank(listed, 0, -CERTIFICATES_LISTED - 1)
            await pipe.execute()
        return Certificate(certificate_id, volunteer_id, figures, issued_at, None, True)

    async def latest(self, volunteer_id: str) -> Certificate | None:
        newest: list[Any] = await self.client.zrange(
            self.keys.volunteer_certificates(volunteer_id), -1, -1
        )
        if not newest:
            return None
        try:
            found = await self.get(text(newest[0]))
        except CertificateNotFound:
            return None
        return found if found.volunteer_id == volunteer_id else None

    async def get(self, certificate_id: str) -> Certificate:
        """The certificate with that id, its signature checked (:class:`CertificateNotFound`
        for a malformed or unknown id)."""
        if not CERTIFICATE_ID.match(certificate_id):
            raise CertificateNotFound("no such certificate")
        raw: list[Any] = await self.client.hmget(
            self.keys.certificate(certificate_id), ["record", "signature", "revoked_at"]
        )
        body, signature, revoked_at = (None if value is None else text(value) for value in raw)
        if body is None:
            raise CertificateNotFound("no such certificate")
        try:
            record = json.loads(body)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            record = {}
        figures = record.get("figures")
        issued_at = record.get("issued_at")
        signed = (
            signature is not None
            and record.get("id") == certificate_id
            and await self._signer().verify(SIGNING_PURPOSE, canonical_json(record), signature)
        )
        return Certificate(
            id=certificate_id,
            volunteer_id=str(record.get("volunteer_id", "")),
            figures=figures if isinstance(figures, dict) else {},
            issued_at_ms=issued_at if isinstance(issued_at, int) else 0,
            revoked_at_ms=int(revoked_at) if revoked_at and revoked_at.isdigit() else None,
            signed=signed,
        )

    async def revoke(self, certificate_id: str) -> int:
        """Revokes the certificate (the first revocation's time stays); returns that time.
        :class:`CertificateNotFound` for a malformed or unknown id."""
        if not CERTIFICATE_ID.match(certificate_id):
            raise CertificateNotFound("no such certificate")
        key = self.keys.certificate(certificate_id)
        if not await self.client.hexists(key, "record"):
            raise CertificateNotFound("no such certificate")
        await self.client.hsetnx(key, "revoked_at", self.clock())
        revoked_at = await self.client.hget(key, "revoked_at")
        return int(text(revoked_at)) if revoked_at is not None else self.clock()
