"""Staff invitations: an owner invites someone to an organisation's staff by e-mail.

A mailed link, like a sign-in link (:mod:`core.accounts.links`) but longer-lived
(:data:`STAFF_INVITATION_TTL_SECONDS`, a week: people read mail late): ``G:staff_invite:<sha256
of the token>`` -> JSON ``{org, email, role, by}`` with the invitation's lifetime as the key's TTL.
Only the hash is stored; ``G:org:<org-id>:staff_invites`` lists the hashes of the
organisation's invitations still out (what deleting the organisation deletes).
:meth:`StaffInvitations.peek` reads one without using it (the page a link opens shows a button,
as mail scanners fetch links); :meth:`StaffInvitations.use` reads and deletes it in one MULTI,
so of two concurrent uses exactly one gets it.

The invitation is for an address: following the link proves the person reads that mailbox,
as a sign-in link does, so accepting it signs them in to the account of that address (made
then if there is none) and gives that account the role.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import cast

import redis.asyncio

from core.accounts.staff import Role
from core.redis.keys import Keys

__all__ = [
    "STAFF_INVITATION_TTL_SECONDS",
    "PendingInvitation",
    "StaffInvitation",
    "StaffInvitations",
]

STAFF_INVITATION_TTL_SECONDS = 7 * 24 * 3600
_TOKEN_BYTES = 32
_MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True, slots=True)
class PendingInvitation:
    """An invitation still out, as its organisation's owners see it (``id``: its token's hash,
    which opens nothing)."""

    id: str
    email: str
    role: Role
    expires_ms: int


@dataclass(frozen=True, slots=True)
class StaffInvitation:
    org_id: str
    email: str
    role: Role
    #: Who invited: a volunteer id, or ``admin`` (the operator's new organisation).
    invited_by: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _parse(raw: str | bytes | None) -> StaffInvitation | None:
    if raw is None:
        return None
    record = json.loads(raw)
    role = Role.parse(str(record["role"]))
    if role is None:
        return None
    return StaffInvitation(str(record["org"]), str(record["email"]), role, str(record["by"]))


class StaffInvitations:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def issue(self, org_id: str, email: str, role: Role, invited_by: str) -> str:
        """A new invitation's token (to put in the mailed URL; never stored). ``email`` is
        normalised (:func:`core.accounts.emails.normalise_email`)."""
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        digest = _digest(token)
        record = json.dumps({"org": org_id, "email": email, "role": role.label, "by": invited_by})
        now_ms = time.time_ns() // 1_000_000
        index = self.keys.org_staff_invitations(org_id)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(self.keys.staff_invitation(digest), record, ex=STAFF_INVITATION_TTL_SECONDS)
            # The organisation's index (what its deletion deletes), pruned of expired ones.
            pipe.zadd(index, {digest: now_ms + STAFF_INVITATION_TTL_SECONDS * 1000})
            pipe.zremrangebyscore(index, "-inf", now_ms)
            pipe.expire(index, STAFF_INVITATION_TTL_SECONDS)
            await pipe.execute()
        return token

    async def peek(self, token: str) -> StaffInvitation | None:
        """The invitation, if it can still be used, without using it."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        return _parse(await self.client.get(self.keys.staff_invitation(_digest(token))))

    async def use(self, token: str) -> StaffInvitation | None:
        """The invitation, which can never be used again; None when unknown, used or expired."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        key = self.keys.staff_invitation(_digest(token))
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.delete(key)
            raw, _ = await pipe.execute()
        invitation = _parse(raw)
        if invitation is not None:
            await self.client.zrem(
                self.keys.org_staff_invitations(invitation.org_id), _digest(token)
            )
        return invitation

    async def pending(self, org_id: str) -> list[PendingInvitation]:
        """The organisation's invitations still out, the newest first."""
        index = self.keys.org_staff_invitations(org_id)
        now_ms = time.time_ns() // 1_000_000
        found = cast(
            "list[tuple[str, float]]",
            await self.client.zrangebyscore(index, now_ms, "+inf", withscores=True),
        )
        pending = []
        for digest, expires in reversed(found):
            invitation = _parse(await self.client.get(self.keys.staff_invitation(str(digest))))
            if invitation is not None and invitation.org_id == org_id:
                pending.append(
                    PendingInvitation(str(digest), invitation.email, invitation.role, int(expires))
                )
        return pending

    async def revoke(self, org_id: str, invitation_id: str) -> bool:
        """The invitation stops working; False when the organisation has no such invitation."""
        index = self.keys.org_staff_invitations(org_id)
        if len(invitation_id) != 64 or await self.client.zscore(index, invitation_id) is None:
            return False
        await self.client.delete(self.keys.staff_invitation(invitation_id))
        await self.client.zrem(index, invitation_id)
        return True
