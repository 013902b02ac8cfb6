"""Organisations, volunteers and who a bearer token belongs to.

Only token hashes are stored (``G:token:<sha256>``); a token is found by its hash and the stored
hash is compared again in constant time. An organisation holds at most two live API keys at a
time, so it can rotate without downtime, and revokes the old one; it cannot revoke its last live
key. Both rules are checked and applied in one WATCH/MULTI transaction on the organisation's keys
hash (retried when a concurrent change slips in), so concurrent requests cannot get around them.
The token record, in another slot, is written after a new key won its place in the hash, and
deleted before a revoked key is marked so (a crash in between leaves a listed key that does not
work, never a working key that is not listed as live).

Two reads of every volunteer request are remembered in the process (``core.recent``), as each
cost a Redis round trip on the claim/submit path:

- a volunteer token, once found, for :data:`VOLUNTEER_TOKEN_TTL_SECONDS`: volunteer tokens are
  never revoked (there is no route for it; organisation keys, which are, are always read);
- a volunteer's profile, for the claim only (:meth:`Accounts.remembered_volunteer`), for
  :data:`PROFILE_TTL_SECONDS`. What the person changed on another API process is still seen by
  their next claim: every change of the profile (charter, goal, languages, skills, name…) bumps
  its stamp (the ``rev`` field, :func:`bump_profile`), the claim's reservation, which runs on
  the volunteer's own keys anyway, compares it with the remembered profile's
  (``reserve_slot.lua``), and a claim decided on an older profile is undone and decided again
  on the profile read afresh (``ProfileChanged``). Every other route reads the profile
  (:meth:`Accounts.volunteer`). A profile without the charter accepted is never remembered.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import redis.asyncio
from redis.exceptions import WatchError
from redis.typing import EncodableT, FieldT

from core import ids
from core.accounts.emails import email_digest
from core.accounts.tokens import hashes_equal, new_token, parse_token, token_hash
from core.errors import LastApiKey, NotFound, TooManyApiKeys, Unavailable
from core.recent import Recent
from core.redis.keys import Keys

__all__ = [
    "MAX_LIVE_ORG_KEYS",
    "PROFILE_STAMP",
    "PROFILE_TTL_SECONDS",
    "VOLUNTEER_TOKEN_TTL_SECONDS",
    "Accounts",
    "EmailTaken",
    "Principal",
    "VolunteerProfile",
    "bump_profile",
]

MAX_LIVE_ORG_KEYS = 2
VOLUNTEER_TOKEN_TTL_SECONDS = 60.0
PROFILE_TTL_SECONDS = 1.0
#: The profile hash's field that every change bumps (read by ``reserve_slot.lua``).
PROFILE_STAMP = "rev"
# Far more than the volunteers active at once on one API process; a bound on memory.
REMEMBERED_VOLUNTEERS = 50_000
# WATCH/MULTI rounds of one key change (each lost round is another change's success).
_KEY_CHANGE_ATTEMPTS = 100
#: An API key's last use is written at most once a minute per key and process (the console shows
#: it to the minute; a busy program's every request must not write).
KEY_USE_RESOLUTION_SECONDS = 60.0
_KEY_USES_REMEMBERED = 10_000
PrincipalKind = Literal["admin", "org", "vol"]


class EmailTaken(Exception):
    """Another account holds this e-mail address (never said to the person: see web/account)."""


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    id: str
    key_id: str = ""


@dataclass(frozen=True, slots=True)
class VolunteerProfile:
    id: str
    display_name: str
    languages: list[str]
    skills: list[str]
    charter_accepted_at_ms: int | None
    weekly_goal_minutes: int | None
    created_at_ms: int
    extra: dict[str, str] = field(default_factory=dict, repr=False)
    #: The profile's stamp when read: bumped by every change (:func:`bump_profile`).
    rev: int = 0
    #: Answers of theirs that agreed with their task's result (their stats' ``accepted``): what
    #: their live-assignment cap grows with (``Settings.live_assignment_cap``).
    accepted_answers: int = 0

    @property
    def email(self) -> str | None:
        """The address the person gave (normalised), if any."""
        return self.extra.get("email")


def bump_profile(pipe: Any, keys: Keys, volunteer_id: str) -> None:
    """Queue the bump of the volunteer's profile stamp on ``pipe``, in the same pipeline or
    transaction as the change itself (same key, same slot): a claim decided on the profile as
    it was is then refused by its reservation (see the module docstring)."""
    pipe.hincrby(keys.volunteer(volunteer_id), PROFILE_STAMP, 1)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_org_id() -> str:
    return "org_" + ids.new_project_id().removeprefix("prj_")


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


class Accounts:
    """Account records over an asyncio Redis client."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        keys: Keys,
        admin_token_hash: str | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.keys = keys
        self.admin_token_hash = admin_token_hash
        self._volunteer_tokens: Recent[str, Principal] = Recent(
            VOLUNTEER_TOKEN_TTL_SECONDS, REMEMBERED_VOLUNTEERS, clock
        )
        self._profiles: Recent[str, VolunteerProfile] = Recent(
            PROFILE_TTL_SECONDS, REMEMBERED_VOLUNTEERS, clock
        )
        self._key_uses: Recent[str, bool] = Recent(
            KEY_USE_RESOLUTION_SECONDS, _KEY_USES_REMEMBERED, clock
        )

    # -- authentication ----------------------------------------------------------------------

    async def authenticate(self, token: str) -> Principal | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        if parsed.kind == "admin":
            if self.admin_token_hash and hashes_equal(parsed.hash, self.admin_token_hash):
                return Principal("admin", "admin")
            return None
        if parsed.kind == "vol":
            known = self._volunteer_tokens.get(parsed.hash)
            if known is not None:
                return known
        raw = await self.client.get(self.keys.token(parsed.hash))
        if raw is None:
            return None
        record = json.loads(raw)
        if record["kind"] != parsed.kind or not hashes_equal(record["hash"], parsed.hash):
            return None
        principal = Principal(parsed.kind, record["id"], record.get("key", ""))
        if parsed.kind == "vol":
            self._volunteer_tokens.put(parsed.hash, principal)
        elif parsed.kind == "org" and principal.key_id:
            await self._note_key_use(principal)
        return principal

    async def _note_key_use(self, principal: Principal) -> None:
        if self._key_uses.get(principal.key_id) is None:
            self._key_uses.put(principal.key_id, True)
            await self.client.hset(
                self.keys.org_key_used(principal.id), principal.key_id, _now_ms()
            )

    async def org_key_uses(self, org_id: str) -> dict[str, int]:
        """Key id -> when it was last used (ms, to the minute), for the keys used since."""
        raw = await self.client.hgetall(self.keys.org_key_used(org_id))
        return {str(k): int(v) for k, v in raw.items()}

    async def _store_token(self, token: str, kind: PrincipalKind, owner: str, key: str) -> None:
        digest = token_hash(token)
        record = {"kind": kind, "id": owner, "key": key, "hash": digest}
        await self.client.set(self.keys.token(digest), json.dumps(record))

    # -- organisations -----------------------------------------------------------------------

    async def create_org(self, name: str, contact_email: str) -> tuple[str, str]:
        """A new organisation and its first API key (returned once, never stored)."""
        org_id = new_org_id()
        await self.client.hset(
            self.keys.org(org_id),
            mapping={"name": name, "contact_email": contact_email, "created": _now_ms()},
        )
        _, token = await self.add_org_key(org_id)
        return org_id, token

    async def org_exists(self, org_id: str) -> bool:
        """True for an organisation that exists and is not being deleted."""
        exists, deleting = await self.client.hmget(self.keys.org(org_id), ["name", "deleting"])
        return exists is not None and deleting is None

    async def org(self, org_id: str) -> dict[str, str]:
        record = await self.client.hgetall(self.keys.org(org_id))
        if not record or "deleting" in record or b"deleting" in record:
            raise NotFound("no such organisation")
        return {str(k): str(v) for k, v in record.items()}

    async def org_keys(self, org_id: str) -> dict[str, dict[str, object]]:
        raw = await self.client.hgetall(self.keys.org_keys(org_id))
        return {str(k): json.loads(v) for k, v in raw.items()}

    async def add_org_key(self, org_id: str) -> tuple[str, str]:
        """A new key (id and token, the token returned once); ``TooManyApiKeys`` when the
        organisation already holds ``MAX_LIVE_ORG_KEYS`` live ones."""
        key_id, token = new_key_id(), new_token("org")
        record = {"hash": token_hash(token), "created": _now_ms(), "revoked": None}

        def add(keys: dict[str, dict[str, object]]) -> dict[str, object]:
            # A key being revoked still counts: its token may work until the revocation ends.
            if sum(1 for k in keys.values() if not k.get("revoked")) >= MAX_LIVE_ORG_KEYS:
                raise TooManyApiKeys(
                    f"an organisation holds at most {MAX_LIVE_ORG_KEYS} live keys; revoke one first"
                )
            return record

        await self._change_key(org_id, key_id, add)
        await self._store_token(token, "org", org_id, key_id)
        return key_id, token

    async def revoke_org_key(self, org_id: str, key_id: str) -> None:
        """The key stops working at once. ``NotFound`` for an unknown or revoked key,
        ``LastApiKey`` when no other live key would be left."""
        now = _now_ms()

        def start(keys: dict[str, dict[str, object]]) -> dict[str, object]:
            record = keys.get(key_id)
            if record is None or record.get("revoked"):
                raise NotFound("no such key")
            others = [
                k
                for other, k in keys.items()
                if other != key_id and not k.get("revoked") and not k.get("revoking")
            ]
            if not others:
                raise LastApiKey("this is the organisation's only live key; create a new one first")
            return {**record, "revoking": record.get("revoking") or now}

        # Marked "revoking" first (what keeps two concurrent revocations from taking the last
        # two keys), then the token goes, then the key is marked revoked (which frees its place).
        marked = await self._change_key(org_id, key_id, start)
        await self.client.delete(self.keys.token(str(marked["hash"])))
        await self._change_key(org_id, key_id, lambda keys: {**keys[key_id], "revoked": now})

    async def _change_key(
        self,
        org_id: str,
        key_id: str,
        change: Callable[[dict[str, dict[str, object]]], dict[str, object]],
    ) -> dict[str, object]:
        """Write ``change(every key record of the organisation)`` as key ``key_id``'s record,
        atomically: re-read and re-decided when the organisation's keys change meanwhile."""
        hash_key = self.keys.org_keys(org_id)
        async with self.client.pipeline(transaction=True) as pipe:
            for _ in range(_KEY_CHANGE_ATTEMPTS):
                try:
                    await pipe.watch(hash_key)
                    raw = await pipe.hgetall(hash_key)
                    record = change({str(k): json.loads(v) for k, v in raw.items()})
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(hash_key, key_id, json.dumps(record))
                    await pipe.execute()
                    return record
                except WatchError:
                    continue
        raise Unavailable("the organisation's keys are changing too fast; retry shortly")

    # -- volunteers --------------------------------------------------------------------------

    async def create_volunteer(
        self,
        display_name: str,
        languages: list[str],
        skills: list[str],
        *,
        email: str | None = None,
    ) -> tuple[str, str]:
        """A new volunteer: id and API token (returned once). With ``email`` (normalised,
        ``core.accounts.emails``) the address is claimed first, and :class:`EmailTaken` is
        raised, with nothing made, when another account holds it."""
        volunteer_id, token = ids.new_volunteer_id(), new_token("vol")
        record: dict[FieldT, EncodableT] = {
            "display_name": display_name,
            "languages": json.dumps(languages),
            "skills": json.dumps(skills),
            "created": _now_ms(),
            # What erasure deletes (core.privacy.volunteers): the token's record.
            "token": token_hash(token),
        }
        if email is not None:
            if not await self.client.set(
                self.keys.email(email_digest(email)), volunteer_id, nx=True
            ):
                raise EmailTaken()
            record["email"] = email
        await self.client.hset(self.keys.volunteer(volunteer_id), mapping=record)
        await self._store_token(token, "vol", volunteer_id, "")
        return volunteer_id, token

    async def volunteer_by_email(self, email: str) -> str | None:
        """The id of the volunteer whose address ``email`` (normalised) is, or None."""
        found = await self.client.get(self.keys.email(email_digest(email)))
        return None if found is None else str(found)

    async def confirm_email(self, volunteer_id: str) -> None:
        """The person followed a link mailed to their address: it is theirs (first time kept)."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.keys.volunteer(volunteer_id), "email_confirmed", _now_ms())
            bump_profile(pipe, self.keys, volunteer_id)
            await pipe.execute()
        self._profiles.forget(volunteer_id)

    async def volunteer(self, volunteer_id: str) -> VolunteerProfile:
        """The volunteer's profile as it is now (one round trip)."""
        read_at = self._profiles.now()
        profile = await self._read_volunteer(volunteer_id)
        if profile.charter_accepted_at_ms is not None:
            self._profiles.put(volunteer_id, profile, read_at)
        return profile

    async def remembered_volunteer(self, volunteer_id: str) -> VolunteerProfile:
        """The profile as this process remembers it, for a claim: the caller passes its
        ``rev`` to the claim, whose reservation refuses it if it is no longer the profile's
        (``ProfileChanged``: then read it with :meth:`volunteer` and claim again)."""
        known = self._profiles.get(volunteer_id)
        if known is not None and known.charter_accepted_at_ms is not None:
            return known
        return await self.volunteer(volunteer_id)

    async def _read_volunteer(self, volunteer_id: str) -> VolunteerProfile:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.volunteer(volunteer_id))
            pipe.hget(self.keys.volunteer_stats(volunteer_id), "accepted")
            raw, accepted = await pipe.execute()
        if not raw:
            raise NotFound("no such volunteer")
        charter = raw.get("charter")
        goal = raw.get("goal")
        return VolunteerProfile(
            id=volunteer_id,
            display_name=str(raw["display_name"]),
            languages=json.loads(raw["languages"]),
            skills=json.loads(raw["skills"]),
            charter_accepted_at_ms=int(charter) if charter else None,
            weekly_goal_minutes=int(goal) if goal else None,
            created_at_ms=int(raw["created"]),
            extra={str(k): str(v) for k, v in raw.items() if k not in ("token", PROFILE_STAMP)},
            rev=int(raw.get(PROFILE_STAMP) or 0),
            accepted_answers=int(accepted or 0),
        )

    def forget_volunteer(self, volunteer_id: str, token_hashes: Iterable[str] = ()) -> None:
        """Drop what this process remembers of the volunteer (their account is being erased):
        their profile, and their tokens (by hash)."""
        self._profiles.forget(volunteer_id)
        for digest in token_hashes:
            self._volunteer_tokens.forget(digest)

    async def accept_charter(self, volunteer_id: str) -> int:
        """Record that the volunteer accepted the operator's charter as it is now (its version,
        ``core.accounts.charter``: the API and the pages alike); the time of the first
        acceptance is kept and returned."""
        now = _now_ms()
        key = self.keys.volunteer(volunteer_id)
        version = await self.client.hget(self.keys.charter, "version")
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "charter", now)
            pipe.hset(key, "charter_version", int(version or 1))
            bump_profile(pipe, self.keys, volunteer_id)
            pipe.hget(key, "charter")
            *_, first = await pipe.execute()
        self._profiles.forget(volunteer_id)
        return int(first or now)

    async def set_goal(self, volunteer_id: str, weekly_minutes: int) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.volunteer(volunteer_id), "goal", weekly_minutes)
            bump_profile(pipe, self.keys, volunteer_id)
            await pipe.execute()
        self._profiles.forget(volunteer_id)

    async def update_volunteer(
        self,
        volunteer_id: str,
        *,
        display_name: str | None = None,
        languages: list[str] | None = None,
        skills: list[str] | None = None,
    ) -> VolunteerProfile:
        """Change the given profile fields (None leaves a field alone); returns the profile."""
        changes: dict[FieldT, EncodableT] = {}
        if display_name is not None:
            changes["display_name"] = display_name
        if languages is not None:
            changes["languages"] = json.dumps(languages)
        if skills is not None:
            changes["skills"] = json.dumps(skills)
        if changes:
            # HSET on a missing hash would create a half profile: check it exists first.
            await self._read_volunteer(volunteer_id)
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(self.keys.volunteer(volunteer_id), mapping=changes)
                bump_profile(pipe, self.keys, volunteer_id)
                await pipe.execute()
            self._profiles.forget(volunteer_id)
        return await self.volunteer(volunteer_id)
