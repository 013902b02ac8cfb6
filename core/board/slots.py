"""Operations on a volunteer's own live-assignment set: the cap on concurrent assignments.

The set lives on the volunteer's key (``G:vol:<id>:live``), outside any project slot, so it is
reserved before a claim and confirmed or dropped after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import ids
from core.board.script_calls import (
    Commands,
    OpsBase,
    ScriptCall,
    review_checked,
    score_pairs,
)
from core.redis.scripts import ScriptName

__all__ = ["SlotOps"]


class SlotOps(OpsBase):
    # -- a volunteer's live assignments (the cap) ---------------------------------------------

    def reserve_slot(
        self,
        volunteer_id: str,
        member: str,
        cap: int,
        hold_ms: int,
        profile_rev: int | None = None,
    ) -> ScriptCall[int]:
        """Hold one of the volunteer's ``cap`` live-assignment slots under ``member`` for up to
        ``hold_ms``; raises ``TooManyAssignments`` when all are taken, and ``ProfileChanged``
        when ``profile_rev`` (the profile's stamp the caller decided on) is no longer the
        profile's."""
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))
        rev = "" if profile_rev is None else profile_rev
        args: list[str | int] = [self.clock.script_now(), member, hold_ms, cap, rev]

        def parse(reply: Sequence[Any]) -> int:
            return int(review_checked(reply)[1])

        profile = self.keys.volunteer(volunteer_id)
        return ScriptCall(ScriptName.RESERVE_SLOT, [key, profile], args, parse)

    def confirm_slot(
        self, volunteer_id: str, member: str, assignment_id: str, expires_at_ms: int
    ) -> Commands[None]:
        """Swap a reservation for the assignment it turned into (added first, so the count
        never dips below the truth in between)."""
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))
        return Commands(
            [("ZADD", key, expires_at_ms, assignment_id), ("ZREM", key, member)], lambda _: None
        )

    def extend_slot(
        self, volunteer_id: str, assignment_id: str, expires_at_ms: int
    ) -> Commands[None]:
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))
        return Commands([("ZADD", key, "XX", expires_at_ms, assignment_id)], lambda _: None)

    def drop_slot(self, volunteer_id: str, member: str) -> Commands[None]:
        """Give a slot back (a reservation, or an assignment submitted or released)."""
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))
        return Commands([("ZREM", key, member)], lambda _: None)

    def live_slots(self, volunteer_id: str) -> Commands[list[tuple[str, int]]]:
        """The volunteer's assignments whose lease has not run out: (assignment id, expiry ms),
        soonest first. Pending reservations are left out."""
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))

        def parse(replies: list[Any]) -> list[tuple[str, int]]:
            now = self.now_from(replies[0])
            return [
                (member, int(score))
                for member, score in score_pairs(replies[1])
                if score > now and not member.startswith("res:")
            ]

        return Commands([("TIME",), ("ZRANGE", key, 0, -1, "WITHSCORES")], parse)
