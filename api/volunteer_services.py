"""Dependency aliases for the volunteer- and reviewer-facing services, built per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.deps import AccountsDep, BoardDep, CurrentVolunteer, KeysDep, RedisDep, SettingsDep
from core.accounts import VolunteerProfile
from core.claims import Claims
from core.reviews import Reviews

__all__ = ["ClaimsDep", "CurrentProfile", "ReviewsDep"]


async def _claims(
    board: BoardDep, client: RedisDep, keys: KeysDep, settings: SettingsDep
) -> Claims:
    return Claims(board, client, keys, max_live=settings.max_live_assignments)


async def _reviews(
    board: BoardDep, client: RedisDep, keys: KeysDep, settings: SettingsDep
) -> Reviews:
    return Reviews(board, client, keys, lease_seconds=settings.review_lease_seconds)


async def _profile(me: CurrentVolunteer, accounts: AccountsDep) -> VolunteerProfile:
    return await accounts.volunteer(me.id)


ClaimsDep = Annotated[Claims, Depends(_claims)]
ReviewsDep = Annotated[Reviews, Depends(_reviews)]
#: The calling volunteer's profile (401/403 for a missing or non-volunteer token first).
CurrentProfile = Annotated[VolunteerProfile, Depends(_profile)]
